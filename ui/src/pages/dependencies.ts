// The dependency graph: the services that called each other in a window, the
// calls labelled with their counts and error rates (error-heavy calls
// marked), laid out by dagre; a click on a service opens its panel. The URL
// holds the window and the selected service (/dependencies?window=1h&service=b).

import "../deps/deps.css";
import { clear, h, showState } from "../dom";
import { dependencies, type Dependency } from "../api/metrics";
import { lastWindow, windowPreset, windows, type Preset } from "../dashboards/window";
import { drawGraph, type GraphView } from "../deps/graph";
import { errorHeavy, layout } from "../deps/layout";
import { panel, type Panel } from "../deps/panel";
import { formatTime, zoneName } from "../format";
import { setQuery, type Mount } from "../router";

export const mount: Mount = (root, route) => {
  let win: Preset = windowPreset(route.query.get("window"));
  let selected = route.query.get("service") ?? "";
  const toolbar = h("div", { class: "dep-toolbar", role: "toolbar", "aria-label": "Graph choices" });
  const canvas = h("div", { class: "dep-canvas" });
  const side = h("div", { class: "dep-side", hidden: !selected });
  const note = h("span", { class: "muted dep-note" });
  root.append(h("div", { class: "dep-page" }, toolbar, h("div", { class: "dep-main" }, canvas, side), note));

  let ctrl: AbortController | null = null;
  let graph: GraphView | null = null;
  let pnl: Panel | null = null;
  let deps: Dependency[] = [];
  let range = lastWindow(win);

  const save = () => setQuery({ window: win.name, service: selected });

  const showPanel = () => {
    pnl?.destroy();
    pnl = null;
    clear(side);
    side.hidden = !selected;
    graph?.select(selected || null);
    if (!selected) return;
    pnl = panel({
      service: selected,
      deps,
      window: win,
      ...range,
      onPick: (s) => select(s),
      onClose: () => select(""),
    });
    side.append(pnl.el);
  };

  const select = (s: string) => {
    selected = s;
    save();
    showPanel();
  };

  const renderToolbar = () => {
    clear(toolbar);
    const seg = h("div", { class: "seg", role: "group", "aria-label": "Time window" });
    for (const w of windows)
      seg.append(
        h(
          "button",
          {
            type: "button",
            "aria-pressed": String(w === win),
            onclick: () => {
              win = w;
              save();
              void load();
            },
          },
          w.name,
        ),
      );
    toolbar.append(
      seg,
      h("button", { type: "button", title: "Reload up to now", onclick: () => void load() }, "Refresh"),
      h("span", { class: "spacer" }),
      h("button", { type: "button", "aria-label": "Zoom in", onclick: () => graph?.zoom(1.25) }, "+"),
      h("button", { type: "button", "aria-label": "Zoom out", onclick: () => graph?.zoom(0.8) }, "−"),
      h("button", { type: "button", onclick: () => graph?.fit() }, "Fit"),
    );
  };

  const load = async () => {
    ctrl?.abort();
    const c = new AbortController();
    ctrl = c;
    renderToolbar();
    graph?.destroy();
    graph = null;
    range = lastWindow(win);
    showState(canvas, "loading", "Loading the service graph…");
    note.textContent = "";
    try {
      deps = await dependencies(range, c.signal);
    } catch (e) {
      if ((e as Error).name === "AbortError") return;
      deps = [];
      showState(canvas, "error", `The dependency graph could not be loaded: ${(e as Error).message}`);
      showPanel();
      return;
    }
    clear(canvas);
    if (deps.length === 0) {
      showState(canvas, "empty", `No calls between services in this window (the last ${win.name}).`);
    } else {
      graph = drawGraph(layout(deps), (s) => select(s));
      canvas.append(graph.el);
      graph.fit();
      const services = new Set(deps.flatMap((d) => [d.parent, d.child])).size;
      note.textContent =
        `${services} services, ${deps.length} calling pairs, spans from ${formatTime(range.startMs)} to ${formatTime(range.endMs)} (${zoneName}). ` +
        `Edges: calls · error rate; red edges have at least ${errorHeavy * 100}% errors. Drag to pan, wheel or +/− to zoom.`;
    }
    showPanel();
  };

  // Escape closes the panel from anywhere on the page.
  const onKey = (e: KeyboardEvent) => {
    if (e.key === "Escape" && selected) select("");
  };
  root.addEventListener("keydown", onKey);

  void load();
  return () => {
    root.removeEventListener("keydown", onKey);
    ctrl?.abort();
    graph?.destroy();
    pnl?.destroy();
  };
};
