// The bottlenecks table: one row per operation on the traces' critical
// paths, with its time on them (total, per trace, share of the latency,
// the most on one trace), how many traces had it on the path, bars to
// compare the rows at a glance, and its example traces. A click on a
// column's header sorts by it (the name ascending, numbers descending).

import "../dashboards/common.css";
import "./bottlenecks.css";
import { h } from "../dom";
import { formatCount, formatDuration } from "../format";
import { href } from "../router";
import { serviceColor } from "../theme";
import type { Bottleneck, BottleneckExample } from "./api";

/** SortKey is a column the table sorts by. */
export type SortKey = "name" | "total" | "perTrace" | "share" | "traces" | "max";

export const sortKeys: readonly SortKey[] = ["name", "total", "perTrace", "share", "traces", "max"];

/** defaultSort is the API's order: the most time on the paths first. */
export const defaultSort: SortKey = "total";

function value(b: Bottleneck, k: SortKey): number {
  switch (k) {
    case "total":
      return b.totalNano;
    case "perTrace":
      return b.perTraceNano;
    case "share":
      return b.share;
    case "traces":
      return b.traceCount;
    case "max":
      return b.maxNano;
  }
  return 0;
}

const name = (b: Bottleneck) => `${b.service}\u0000${b.operation}`;

/** sorted is rows in the order of k; ties keep the API's order (by total, then service, then operation). */
export function sorted(rows: Bottleneck[], k: SortKey): Bottleneck[] {
  const out = rows.slice();
  if (k === "name") out.sort((a, b) => (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0));
  else out.sort((a, b) => value(b, k) - value(a, k));
  return out;
}

/** formatShare shows a ratio as a percentage with a useful precision. */
export function formatShare(r: number): string {
  const p = r * 100;
  if (p === 0) return "0%";
  if (p < 0.1) return "<0.1%";
  return `${p >= 10 ? p.toFixed(1) : p.toFixed(2)}%`;
}

export interface TableOptions {
  rows: Bottleneck[];
  /** analysed is the number of traces analysed (the "of N" of the trace counts). */
  analysed: number;
  sort: SortKey;
  onSort: (k: SortKey) => void;
  /** example renders one example trace's link. */
  example: (b: Bottleneck, e: BottleneckExample, rank: number) => Node;
  /** dashboard is the URL of the operation's dashboard. */
  dashboard: (b: Bottleneck) => string;
}

/** bar is a horizontal bar of width frac (0 to 1) of its cell, in colour. */
function bar(frac: number, color: string, title: string): HTMLElement {
  return h(
    "span",
    { class: "bn-bar", title, "aria-hidden": "true" },
    h("span", { style: { width: `${Math.max(0, Math.min(1, frac)) * 100}%`, background: color } }),
  );
}

/** bottleneckTable renders the rows; the rank column is the row's rank by total time, whatever the order shown. */
export function bottleneckTable(o: TableOptions): HTMLTableElement {
  let sort = o.sort;
  const rank = new Map<Bottleneck, number>();
  sorted(o.rows, "total").forEach((b, i) => rank.set(b, i + 1));
  let maxTotal = 0;
  let maxMax = 0;
  for (const b of o.rows) {
    maxTotal = Math.max(maxTotal, b.totalNano);
    maxMax = Math.max(maxMax, b.maxNano);
  }
  const head = h("tr");
  const th = (label: string, key: SortKey | null, cls?: string, title?: string) => {
    const cell = h("th", { scope: "col", class: cls, title });
    if (!key) {
      cell.textContent = label;
      return cell;
    }
    cell.dataset.sort = key;
    cell.append(
      h(
        "button",
        {
          type: "button",
          class: "sort",
          onclick: () => {
            sort = key;
            mark();
            fill();
            o.onSort(key);
          },
        },
        label,
      ),
    );
    return cell;
  };
  head.append(
    th("#", null, "num", "Rank by total time on the critical paths"),
    th("Operation", "name"),
    th("Total on path", "total", "num", "Its time on the critical paths, summed over the traces analysed"),
    th("Per trace", "perTrace", "num", "Total over the traces analysed: what it adds to an average trace's latency"),
    th("Share of latency", "share", "bn-share-col", "Total over the sum of the traces' end-to-end latencies"),
    th("Traces", "traces", "num", "The traces with it on their critical path"),
    th("Max", "max", "num", "The most it spent on one trace's critical path"),
    th("Examples", null, undefined, "The traces where it spent the most time on the path"),
  );
  const mark = () => {
    for (const c of head.querySelectorAll<HTMLElement>("th[data-sort]"))
      c.setAttribute("aria-sort", c.dataset.sort === sort ? (sort === "name" ? "ascending" : "descending") : "none");
  };
  const body = h("tbody");
  const row = (b: Bottleneck) => {
    const color = serviceColor(b.service);
    return h(
      "tr",
      {
        dataset: {
          service: b.service,
          operation: b.operation,
          rank: String(rank.get(b)),
          total: String(b.totalNano),
          perTrace: String(b.perTraceNano),
          share: String(b.share),
          traces: String(b.traceCount),
          max: String(b.maxNano),
          examples: b.examples.map((e) => e.traceId).join(","),
        },
      },
      h("td", { class: "num muted" }, String(rank.get(b))),
      h(
        "td",
        { class: "bn-op" },
        h("span", { class: "swatch", style: { background: color } }),
        h("span", { class: "bn-service" }, b.service),
        " ",
        h("a", { href: o.dashboard(b), title: `The dashboard of ${b.service} · ${b.operation}` }, b.operation),
      ),
      h(
        "td",
        { class: "num" },
        h("span", { class: "bn-num" }, formatDuration(b.totalNano)),
        bar(maxTotal > 0 ? b.totalNano / maxTotal : 0, color, "relative to the largest total"),
      ),
      h("td", { class: "num" }, formatDuration(b.perTraceNano)),
      h(
        "td",
        { class: "bn-share" },
        bar(b.share, "var(--critical)", "share of the traces' latency"),
        h("span", { class: "bn-num" }, formatShare(b.share)),
      ),
      h(
        "td",
        { class: "num", title: `${formatCount(b.traceCount)} of ${formatCount(o.analysed)} traces analysed` },
        `${formatCount(b.traceCount)} / ${formatCount(o.analysed)}`,
      ),
      h(
        "td",
        { class: "num" },
        h("span", { class: "bn-num" }, formatDuration(b.maxNano)),
        bar(maxMax > 0 ? b.maxNano / maxMax : 0, color, "relative to the largest max"),
      ),
      h("td", null, h("div", { class: "bn-examples" }, ...b.examples.map((e, i) => o.example(b, e, i)))),
    );
  };
  const fill = () => body.replaceChildren(...sorted(o.rows, sort).map(row));
  mark();
  fill();
  return h("table", { class: "summary-table bn-table" }, h("thead", null, head), body);
}

/** traceHref is the trace view of id, with a span selected when known. */
export function traceHref(id: string, spanId?: string | null): string {
  return href(`/trace/${id}`, { span: spanId ?? undefined });
}
