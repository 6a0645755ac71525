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

/** summaryTable renders rows; errorHeavy (a ratio) marks rows whose error rate is at least it. */
export function summaryTable(
  rows: Row[],
  opts: { first: string; kinds?: boolean; extra?: string; errorHeavy?: number },
): HTMLTableElement {
  const heavy = opts.errorHeavy ?? 0.05;
  const head = h(
    "tr",
    null,
    h("th", { scope: "col" }, opts.first),
    opts.kinds ? h("th", { scope: "col" }, "Kind") : null,
    h("th", { scope: "col", class: "num" }, "Requests"),
    h("th", { scope: "col", class: "num" }, "Rate"),
    h("th", { scope: "col", class: "num" }, "Errors"),
    h("th", { scope: "col", class: "num", title: "The highest p99 latency of any step in the window" }, "p99 (max)"),
    opts.extra ? h("th", { scope: "col" }, opts.extra) : null,
  );
  const body = h("tbody");
  for (const r of rows) {
    const s = r.summary;
    const errHeavy = !!s && s.errorRate >= heavy;
    body.append(
      h(
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
      ),
    );
  }
  return h("table", { class: "summary-table" }, h("thead", null, head), body);
}
