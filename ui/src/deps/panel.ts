// The side panel of a service on the dependency graph: its server-span RED
// summary over the window, who it calls and who calls it, its operations
// (each with its own numbers), and links to its dashboard and its traces.

import { append, clear, h, showState } from "../dom";
import { operations, red, type Dependency } from "../api/metrics";
import { summarize, formatPct, formatRate } from "../dashboards/red";
import { kindOf } from "../dashboards/state";
import { summaryTable, type Row } from "../dashboards/table";
import { searchQuery, totalStep, type Preset } from "../dashboards/window";
import { formatCount, formatDuration } from "../format";
import { href } from "../router";
import { serviceColor } from "../theme";
import { edgeLabel, errorHeavy } from "./layout";

/** Panel is a mounted panel; destroy cancels its requests. */
export interface Panel {
  el: HTMLElement;
  destroy(): void;
}

/** panel shows service over [startMs, endMs) (the window w); onPick selects another service, onClose closes. */
export function panel(o: {
  service: string;
  deps: Dependency[];
  window: Preset;
  startMs: number;
  endMs: number;
  onPick: (service: string) => void;
  onClose: () => void;
}): Panel {
  const s = o.service;
  const ctrl = new AbortController();
  const summary = h("div", { class: "dep-summary" });
  const ops = h("div", { class: "dep-ops" });
  const closeBtn = h("button", { type: "button", class: "dep-close", "aria-label": "Close the panel", onclick: o.onClose }, "×");
  const link = (dep: Dependency, other: string) =>
    h(
      "li",
      null,
      h("button", { type: "button", class: "linkish", onclick: () => o.onPick(other) }, h("span", { class: "swatch", style: { background: serviceColor(other) } }), other),
      h(
        "span",
        { class: dep.callCount > 0 && dep.errorCount / dep.callCount >= errorHeavy ? "err" : "muted" },
        " ",
        edgeLabel(dep),
      ),
    );
  const out = o.deps.filter((d) => d.parent === s);
  const inn = o.deps.filter((d) => d.child === s);
  const el = h(
    "aside",
    { class: "dep-panel", "aria-label": `Service ${s}`, dataset: { service: s } },
    h("div", { class: "dep-panel-head" }, h("span", { class: "swatch", style: { background: serviceColor(s) } }), h("h2", null, s), closeBtn),
    h(
      "div",
      { class: "dep-links" },
      h("a", { href: href("/dashboards", { service: s, window: o.window.name }), class: "dep-dashboard-link" }, "Dashboard"),
      h("a", { href: href("/search", searchQuery({ service: s, startMs: o.startMs, endMs: o.endMs })), class: "dep-search-link" }, "Search traces"),
    ),
    summary,
    h("h3", null, "Calls"),
    out.length || inn.length
      ? h(
          "div",
          { class: "dep-calls" },
          out.length ? h("div", null, h("div", { class: "muted" }, "Calls"), h("ul", null, ...out.map((d) => link(d, d.child)))) : null,
          inn.length ? h("div", null, h("div", { class: "muted" }, "Called by"), h("ul", null, ...inn.map((d) => link(d, d.parent)))) : null,
        )
      : h("p", { class: "muted" }, "No calls to or from other services in this window."),
    h("h3", null, "Operations"),
    ops,
  );

  showState(summary, "loading", "Loading…");
  showState(ops, "loading", "Loading operations…");
  const range = { startMs: o.startMs, endMs: o.endMs, stepMs: totalStep(o.window) };
  red({ ...range, services: [s], kinds: ["server"] }, ctrl.signal).then(
    (a) => {
      const pts = a.series[0]?.points ?? [];
      clear(summary);
      if (pts.length === 0) {
        summary.append(h("p", { class: "muted" }, `No server spans in the last ${o.window.name}.`));
        return;
      }
      const m = summarize(pts, o.window.ms);
      const stat = (label: string, value: string, cls?: string) =>
        h("div", { class: "dep-stat" }, h("div", { class: "muted" }, label), h("div", { class: cls ?? "" }, value));
      append(
        summary,
        h(
          "div",
          { class: "dep-stats", title: `Server spans of ${s} in the last ${o.window.name}` },
          stat("Requests", formatCount(m.requests)),
          stat("Rate", formatRate(m.ratePerSec)),
          stat("Errors", formatPct(m.errorRate), m.errorRate >= errorHeavy ? "err" : undefined),
          stat("p99 (max)", formatDuration(m.p99MaxMs * 1e6)),
        ),
      );
    },
    (e: Error) => {
      if (e.name !== "AbortError") showState(summary, "error", e.message);
    },
  );
  Promise.all([operations(s, ctrl.signal), red({ ...range, services: [s], groupByOperation: true }, ctrl.signal)]).then(
    ([list, a]) => {
      const bySpan = new Map(a.series.map((x) => [x.operation ?? "", x]));
      const rows: Row[] = list.map((op) => {
        const series = bySpan.get(op.name);
        return {
          name: op.name,
          kind: op.spanKind || "unspecified",
          summary: series ? summarize(series.points, o.window.ms) : null,
          href: href("/dashboards", { service: s, operation: op.name, spanKind: kindOf(op.spanKind), window: o.window.name }),
        };
      });
      clear(ops);
      if (rows.length === 0) showState(ops, "empty", "No operations stored for this service.");
      else ops.append(summaryTable(rows, { first: "Operation", kinds: true }));
    },
    (e: Error) => {
      if (e.name !== "AbortError") showState(ops, "error", e.message);
    },
  );
  return {
    el,
    destroy() {
      ctrl.abort();
    },
  };
}
