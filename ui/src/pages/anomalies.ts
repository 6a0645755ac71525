// The anomalies page (/api/tracer/anomalies): not built yet (issue 14).

import { h, clear } from "../dom";
import type { Mount } from "../router";

export const mount: Mount = (root) => {
  clear(root);
  root.append(h("div", { class: "state state-empty", role: "status" }, "The anomalies page is not built yet."));
};
