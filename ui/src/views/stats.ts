// The per-trace statistics table: per service and operation, span count,
// errors, total duration, self time (views/selftime.ts), average and
// longest; sortable by any column (click or Enter on its header), filtered by
// service or operation. At most maxRows rows are in the DOM.

import "./stats.css";
import { h, clear } from "../dom";
import { formatCount, formatDuration } from "../format";
import type { Cleanup } from "../router";
import type { Trace } from "../model/trace";
import { serviceColor } from "../theme";
import { statRows, type StatRow } from "./statsdata";

type Key = "service" | "operation" | "count" | "errors" | "totalNs" | "selfNs" | "avgNs" | "maxNs";

const columns: { key: Key; label: string; title: string; num: boolean }[] = [
  { key: "service", label: "Service", title: "The span's service", num: false },
  { key: "operation", label: "Operation", title: "The span's name", num: false },
  { key: "count", label: "Spans", title: "Number of spans", num: true },
  { key: "errors", label: "Errors", title: "Spans with an error status", num: true },
  { key: "totalNs", label: "Total", title: "Sum of the spans' durations", num: true },
  { key: "selfNs", label: "Self time", title: "Sum of the time each span spent outside its children", num: true },
  { key: "avgNs", label: "Avg", title: "Average duration", num: true },
  { key: "maxNs", label: "Max", title: "Longest duration", num: true },
];

const maxRows = 1000;

/** renderStats shows, per service and operation, span count, total and self time. */
export function renderStats(el: HTMLElement, trace: Trace): Cleanup {
  const rows = statRows(trace);
  const dur = Math.max(1, trace.durationNs);
  let sortKey: Key = "selfNs";
  let desc = true;
  let q = "";

  const filter = h("input", {
    type: "search",
    class: "stats-filter",
    placeholder: "Filter by service or operation",
    "aria-label": "Filter the statistics by service or operation",
  });
  const summary = h("span", { class: "stats-summary" });
  const head = h("tr");
  const body = h("tbody");
  const note = h("p", { class: "stats-note", role: "status" });
  const table = h("table", { class: "stats-table" }, h("thead", null, head), body);
  const wrap = h("div", { class: "stats" }, h("div", { class: "stats-bar" }, filter, summary), table, note);
  el.append(wrap);

  const headers = columns.map((c) => {
    const b = h("button", { type: "button", class: "stats-sort", title: `${c.title}; click to sort` }, c.label);
    const th = h("th", { scope: "col", class: c.num ? "num" : "", dataset: { key: c.key } }, b);
    b.addEventListener("click", () => {
      if (sortKey === c.key) desc = !desc;
      else {
        sortKey = c.key;
        desc = c.num; // numbers largest first, names A to Z
      }
      draw();
    });
    head.append(th);
    return th;
  });
  head.append(h("th", { scope: "col", class: "stats-share", title: "Self time as a share of the trace's duration" }, "Self % of trace"));

  let timer = 0;
  filter.addEventListener("input", () => {
    clearTimeout(timer);
    timer = window.setTimeout(() => {
      q = filter.value.trim().toLowerCase();
      draw();
    }, 120);
  });

  function cmp(x: StatRow, y: StatRow): number {
    const a = x[sortKey];
    const b = y[sortKey];
    const c = typeof a === "string" ? a.localeCompare(b as string) : (a as number) - (b as number);
    return (desc ? -c : c) || x.service.localeCompare(y.service) || x.operation.localeCompare(y.operation);
  }

  function draw(): void {
    for (const th of headers) {
      const on = th.dataset.key === sortKey;
      if (on) th.setAttribute("aria-sort", desc ? "descending" : "ascending");
      else th.removeAttribute("aria-sort");
    }
    const list = q ? rows.filter((r) => r.service.toLowerCase().includes(q) || r.operation.toLowerCase().includes(q)) : rows.slice();
    list.sort(cmp);
    clear(body);
    for (const r of list.slice(0, maxRows)) {
      const share = (r.selfNs / dur) * 100;
      body.append(
        h(
          "tr",
          { dataset: { service: r.service, operation: r.operation } },
          h("td", null, h("span", { class: "stats-dot", style: { background: serviceColor(r.service) } }), r.service),
          h("td", { class: "stats-op" }, r.operation),
          h("td", { class: "num", dataset: { col: "count" } }, formatCount(r.count)),
          h("td", { class: `num${r.errors ? " stats-err" : ""}`, dataset: { col: "errors" } }, formatCount(r.errors)),
          h("td", { class: "num", dataset: { col: "total", ns: String(r.totalNs) } }, formatDuration(r.totalNs)),
          h("td", { class: "num", dataset: { col: "self", ns: String(r.selfNs) } }, formatDuration(r.selfNs)),
          h("td", { class: "num", dataset: { col: "avg", ns: String(r.avgNs) } }, formatDuration(r.avgNs)),
          h("td", { class: "num", dataset: { col: "max", ns: String(r.maxNs) } }, formatDuration(r.maxNs)),
          h(
            "td",
            { class: "stats-share" },
            h("span", { class: "stats-meter", style: { width: `${Math.max(1, Math.min(100, share))}px`, background: serviceColor(r.service) } }),
            h("span", { class: "stats-pct" }, `${share >= 10 ? share.toFixed(0) : share.toFixed(1)}%`),
          ),
        ),
      );
    }
    if (!list.length) body.append(h("tr", null, h("td", { colSpan: columns.length + 1, class: "stats-empty" }, q ? "No service or operation matches the filter." : "This trace has no spans.")));
    summary.textContent = `${formatCount(trace.spans.length)} spans · ${formatCount(trace.services.length)} services · ${formatCount(rows.length)} operations`;
    note.textContent = list.length > maxRows ? `Showing ${formatCount(maxRows)} of ${formatCount(list.length)} rows; filter to see the others.` : "";
  }

  // Colours follow the theme.
  const onTheme = () => draw();
  window.addEventListener("tracer-theme", onTheme);
  draw();
  return () => {
    clearTimeout(timer);
    window.removeEventListener("tracer-theme", onTheme);
    wrap.remove();
  };
}
