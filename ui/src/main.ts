// The UI shell: header, navigation, theme, and the router that mounts one
// page at a time. Pages load on demand, so the search page does not wait for
// the trace view's code.

import "./styles.css";
import { h, clear, showState } from "./dom";
import { zoneName } from "./format";
import { start, href, type Cleanup, type Mount, type PageName, type Route } from "./router";
import { initTheme, themeToggle } from "./theme";

const pages: Record<PageName, () => Promise<{ mount: Mount }>> = {
  search: () => import("./pages/search"),
  trace: () => import("./pages/trace"),
  compare: () => import("./pages/compare"),
  dependencies: () => import("./pages/dependencies"),
  dashboards: () => import("./pages/dashboards"),
  bottlenecks: () => import("./pages/bottlenecks"),
  anomalies: () => import("./pages/anomalies"),
  notfound: () => import("./pages/notfound"),
};

const titles: Record<PageName, string> = {
  search: "Search",
  trace: "Trace",
  compare: "Compare",
  dependencies: "Dependencies",
  dashboards: "Dashboards",
  bottlenecks: "Bottlenecks",
  anomalies: "Anomalies",
  notfound: "Not found",
};

initTheme();

const nav = h(
  "nav",
  { class: "nav", "aria-label": "Main" },
  h("a", { href: href("/search"), dataset: { page: "search" } }, "Search"),
  h("a", { href: href("/dependencies"), dataset: { page: "dependencies" } }, "Dependencies"),
  h("a", { href: href("/dashboards"), dataset: { page: "dashboards" } }, "Dashboards"),
  h("a", { href: href("/bottlenecks"), dataset: { page: "bottlenecks" } }, "Bottlenecks"),
  h("a", { href: href("/anomalies"), dataset: { page: "anomalies" } }, "Anomalies"),
  h("a", { href: href("/compare"), dataset: { page: "compare" } }, "Compare"),
);

const main = h("main", { id: "page", class: "page" });

const app = document.getElementById("app")!;
app.append(
  h(
    "header",
    { class: "topbar" },
    h("a", { class: "brand", href: href("/search") }, "Tracer"),
    nav,
    h("span", { class: "spacer" }),
    h("span", { class: "zone", title: "Times are shown in this time zone" }, zoneName),
    themeToggle(),
  ),
  main,
);

let cleanup: Cleanup | void;
let generation = 0;

async function show(route: Route): Promise<void> {
  const gen = ++generation;
  if (cleanup) cleanup();
  cleanup = undefined;
  for (const a of nav.querySelectorAll("a")) {
    const on = a.dataset.page === route.page || (route.page === "trace" && a.dataset.page === "search");
    a.classList.toggle("active", on);
    if (on) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  document.title = `${titles[route.page]} · Tracer`;
  showState(main, "loading", "Loading…");
  try {
    const mod = await pages[route.page]();
    if (gen !== generation) return;
    clear(main);
    main.dataset.page = route.page;
    cleanup = mod.mount(main, route);
  } catch (e) {
    if (gen !== generation) return;
    showState(main, "error", `This page failed to load: ${(e as Error).message}`);
  }
}

start((r) => void show(r));
