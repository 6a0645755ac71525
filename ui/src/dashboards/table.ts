// The summary table of services or operations over a window: requests,
// rate, error % and the worst p99, each row linking to its dashboard. The
// dashboards' overview and the dependency graph's service panel show it.

import "./common.css";
import { h } from "../dom";
import { formatCount, formatDuration } from "../format";
import { serviceColor } from "../theme";
import { formatPct, formatRate, type Summary } from "./red";

/** Row is one line of the table. */
export interface Row {
  /** name is the service or operation shown. */
  name: string;
  /** service colours the row's swatch when set. */
  service?: string;
  /** kind is the operation's span kind, when known. */
  kind?: string;
  summary: Summary | null;
  href: string;
  /** extra is appended to the row (a sparkline). */
  extra?: Node;
}

/** SortKey is a column the table sorts by: the name ascending, the numbers descending. */
export type SortKey = "name" | "requests" | "errors" | "p99";

export const sortKeys: readonly SortKey[] = ["name", "requests", "errors", "p99"];

function sortValue(r: Row, k: SortKey): number {
  const s = r.summary;
  if (!s) return -1;
  const v = k === "requests" ? s.requests : k === "errors" ? s.errorRate : s.p99MaxMs;
  return Number.isFinite(v) ? v : -1;
}

function sorted(rows: Row[], k: SortKey): Row[] {
  const out = rows.slice();
  if (k === "name") out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  else out.sort((a, b) => sortValue(b, k) - sortValue(a, k) || (a.name < b.name ? -1 : 1));
  return out;
}

/**
 * summaryTable renders rows, sorted by sort (the name by default); a click
 * on a column's header sorts by it and calls onSort. errorHeavy (a ratio)
 * marks rows whose error rate is at least it.
 */
export function summaryTable(
  rows: Row[],
  opts: { first: string; kinds?: boolean; extra?: string; errorHeavy?: number; sort?: SortKey; onSort?: (k: SortKey) => void },
): HTMLTableElement {
  const heavy = opts.errorHeavy ?? 0.05;
  let sort: SortKey = opts.sort ?? "name";
  const th = (label: string, key: SortKey | null, cls?: string, title?: string) => {
    const cell = h("th", { scope: "col", class: cls, title });
    if (!key) {
      cell.textContent = label;
      return cell;
    }
    cell.setAttribute("aria-sort", key === sort ? (key === "name" ? "ascending" : "descending") : "none");
    cell.append(
      h(
        "button",
        {
          type: "button",
          class: "sort",
          onclick: () => {
            sort = key;
            for (const c of head.querySelectorAll("th[aria-sort]")) c.setAttribute("aria-sort", "none");
            cell.setAttribute("aria-sort", key === "name" ? "ascending" : "descending");
            fill();
            opts.onSort?.(key);
          },
        },
        label,
      ),
    );
    return cell;
  };
  const head = h(
    "tr",
    null,
    th(opts.first, "name"),
    opts.kinds ? th("Kind", null) : null,
    th("Requests", "requests", "num"),
    th("Rate", null, "num"),
    th("Errors", "errors", "num"),
    th("p99 (max)", "p99", "num", "The p99 latency over the window (the higher of two where the window straddles a multiple of its length)"),
    opts.extra ? th(opts.extra, null) : null,
  );
  const body = h("tbody");
  const fill = () => {
    while (body.firstChild) body.removeChild(body.firstChild);
    for (const r of sorted(rows, sort)) body.append(row(r));
  };
  const row = (r: Row) => {
    const s = r.summary;
    const errHeavy = !!s && s.errorRate >= heavy;
    return h(
      "tr",
      { dataset: { name: r.name, requests: String(s?.requests ?? 0), errors: String(s?.errors ?? 0) } },
      h(
        "td",
        null,
        r.service ? h("span", { class: "swatch", style: { background: serviceColor(r.service) } }) : null,
        h("a", { href: r.href }, r.name),
      ),
      opts.kinds ? h("td", { class: "muted" }, r.kind ?? "") : null,
      h("td", { class: "num" }, s ? formatCount(s.requests) : "–"),
      h("td", { class: "num" }, s ? formatRate(s.ratePerSec) : "–"),
      h("td", { class: "num" + (errHeavy ? " err" : "") }, s ? formatPct(s.errorRate) : "–"),
      h("td", { class: "num" }, s ? formatDuration(s.p99MaxMs * 1e6) : "–"),
      opts.extra ? h("td", null, r.extra ?? null) : null,
    );
  };
  fill();
  return h("table", { class: "summary-table" }, h("thead", null, head), body);
}
