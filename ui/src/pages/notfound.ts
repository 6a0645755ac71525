import { h, clear } from "../dom";
import { href, type Mount } from "../router";

export const mount: Mount = (root, route) => {
  clear(root);
  root.append(
    h(
      "div",
      { class: "state state-empty", role: "status" },
      `No page at ${route.params.path}. `,
      h("a", { href: href("/search") }, "Search traces"),
    ),
  );
};
