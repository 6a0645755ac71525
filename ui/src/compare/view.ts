// The compare page's view of a TraceDiff: both traces' totals, the summary of
// changes, the changes per service and operation, and the structure (the
// paths of (service, operation), indented). Tables are capped at maxRows
// rows, so a 100,000-span diff never puts one DOM node per span.

import { h, append, clear, type Child } from "../dom";
import { formatCount, formatDuration, formatTime, zoneName } from "../format";
import { href } from "../router";
import { serviceColor } from "../theme";
import type { Change, Compared, PathNode, Totals, TraceDiff } from "./diff";

export interface DiffView {
  /** Which rows are listed: every row, the changed ones (and the paths to them), or one kind of change. */
  show: "all" | "changed" | Change;
  /** A service or operation filter (substring, case-insensitive). */
  q: string;
}

/** maxRows caps each table's rows; the filter narrows what is listed. */
export const maxRows = 1000;

const changeLabel: Record<Change, string> = {
  added: "added",
  missing: "missing",
  slower: "slower",
  faster: "faster",
  same: "",
};

const changeRank: Record<Change, number> = { added: 0, missing: 1, slower: 2, faster: 3, same: 4 };

function signed(ns: number): string {
  if (ns === 0) return "0";
  return (ns > 0 ? "+" : "−") + formatDuration(Math.abs(ns));
}

function percent(a: number, b: number): string {
  if (a <= 0 || a === b) return "";
  const p = ((b - a) / a) * 100;
  return ` (${p > 0 ? "+" : "−"}${Math.abs(p) >= 10 ? Math.abs(p).toFixed(0) : Math.abs(p).toFixed(1)}%)`;
}

/** deltaText says how a compared row changed: "+200ms (+1000%)". */
export function deltaText(c: Compared): string {
  if (c.change === "added") return signed(c.b.selfNs);
  if (c.change === "missing") return signed(-c.a.selfNs);
  return signed(c.selfDelta) + percent(c.a.selfNs, c.b.selfNs);
}

function totalsCard(label: "A" | "B", t: Totals, other: Totals): HTMLElement {
  const cmp = label === "B";
  const d = (v: number, o: number, fmt: (n: number) => string) =>
    cmp && v !== o ? h("span", { class: v > o ? "cmp-worse" : "cmp-better" }, ` (${v > o ? "+" : "−"}${fmt(Math.abs(v - o))})`) : null;
  return h(
    "section",
    { class: `cmp-card cmp-card-${label.toLowerCase()}`, "aria-label": `Trace ${label}`, dataset: { side: label } },
    h(
      "div",
      { class: "cmp-card-head" },
      h("span", { class: `cmp-tag cmp-tag-${label.toLowerCase()}` }, label),
      h("a", { class: "mono", href: href(`/trace/${t.traceId}`) }, t.traceId),
    ),
    h("div", { class: "cmp-root" }, dot(t.rootService), t.rootService, " · ", h("strong", null, t.rootOperation)),
    h(
      "dl",
      { class: "cmp-figures" },
      h("dt", null, "Duration"),
      h("dd", { dataset: { field: "duration" } }, formatDuration(t.durationNs), d(t.durationNs, other.durationNs, formatDuration)),
      h("dt", null, "Spans"),
      h("dd", { dataset: { field: "spans" } }, formatCount(t.spans), d(t.spans, other.spans, formatCount)),
      h("dt", null, "Errors"),
      h("dd", { dataset: { field: "errors" } }, formatCount(t.errors), d(t.errors, other.errors, formatCount)),
      h("dt", null, "Services"),
      h("dd", { dataset: { field: "services" } }, formatCount(t.services)),
      h("dt", null, "Started"),
      h("dd", null, formatTime(t.startMs), " ", h("span", { class: "cmp-muted" }, zoneName)),
    ),
  );
}

function dot(service: string): HTMLElement {
  return h("span", { class: "cmp-dot", style: { background: serviceColor(service) }, "aria-hidden": "true" });
}

function matches(c: Compared, view: DiffView, q: string): boolean {
  if (q && !c.service.toLowerCase().includes(q) && !c.operation.toLowerCase().includes(q)) return false;
  if (view.show === "all") return true;
  if (view.show === "changed") return c.change !== "same" || c.countDelta !== 0;
  return c.change === view.show;
}

function spanLink(traceId: string, trace: "a" | "b", c: Compared, spanIds: (w: "a" | "b", i: number) => string): Child {
  const sd = c[trace];
  if (!sd.count) return h("span", { class: "cmp-muted" }, "–");
  const id = spanIds(trace, sd.first);
  return h(
    "a",
    { href: href(`/trace/${traceId}`, { span: id }), title: `Open trace ${trace.toUpperCase()} at this span` },
    formatCount(sd.count),
  );
}

function header(names: string[], numeric: number): HTMLTableSectionElement {
  // The last `numeric` columns hold figures (right-aligned), the Change column before them.
  const first = names.length - numeric;
  return h(
    "thead",
    null,
    h("tr", null, ...names.map((c, i) => h("th", { scope: "col", class: i >= first ? "num" : "" }, c))),
  );
}

const cols = ["Change", "Spans A", "Spans B", "Self A", "Self B", "Δ self", "Total A", "Total B", "Δ total"];

function cells(c: Compared, diff: TraceDiff, spanIds: (w: "a" | "b", i: number) => string): HTMLTableCellElement[] {
  return [
    h(
      "td",
      { class: "cmp-change" },
      c.change !== "same" ? h("span", { class: `cmp-chip cmp-chip-${c.change}` }, changeLabel[c.change]) : null,
      c.a.count && c.b.count && c.countDelta
        ? h("span", { class: "cmp-chip cmp-chip-count" }, `${c.countDelta > 0 ? "+" : "−"}${Math.abs(c.countDelta)} spans`)
        : null,
    ),
    h("td", { class: "num" }, spanLink(diff.a.traceId, "a", c, spanIds)),
    h("td", { class: "num" }, spanLink(diff.b.traceId, "b", c, spanIds)),
    h("td", { class: "num" }, c.a.count ? formatDuration(c.a.selfNs) : "–"),
    h("td", { class: "num" }, c.b.count ? formatDuration(c.b.selfNs) : "–"),
    h(
      "td",
      { class: `num cmp-delta ${c.change === "slower" || c.change === "added" ? "cmp-worse" : c.change === "faster" || c.change === "missing" ? "cmp-better" : ""}`, dataset: { field: "delta" } },
      deltaText(c),
    ),
    h("td", { class: "num" }, c.a.count ? formatDuration(c.a.totalNs) : "–"),
    h("td", { class: "num" }, c.b.count ? formatDuration(c.b.totalNs) : "–"),
    h("td", { class: "num" }, signed(c.totalDelta) + (c.a.count && c.b.count ? percent(c.a.totalNs, c.b.totalNs) : "")),
  ];
}

function capNote(shown: number, total: number): Child {
  return total > shown
    ? h("p", { class: "cmp-muted", role: "status" }, `Showing ${formatCount(shown)} of ${formatCount(total)} rows; filter to see the others.`)
    : null;
}

/** renderDiff draws diff into el; onView is called when the viewer changes what is listed. */
export function renderDiff(
  el: HTMLElement,
  diff: TraceDiff,
  view: DiffView,
  onView: (v: DiffView) => void,
  spanIds: (w: "a" | "b", i: number) => string,
): void {
  const s = diff.summary;
  const notes: Child[] = [];
  if (diff.a.rootService !== diff.b.rootService || diff.a.rootOperation !== diff.b.rootOperation)
    notes.push(
      h(
        "p",
        { class: "cmp-note", role: "note" },
        `These traces start at different operations (A: ${diff.a.rootService} · ${diff.a.rootOperation}, ` +
          `B: ${diff.b.rootService} · ${diff.b.rootOperation}); the diff compares whatever paths they share.`,
      ),
    );
  if (diff.a.traceId === diff.b.traceId) notes.push(h("p", { class: "cmp-note", role: "note" }, "A and B are the same trace."));

  const chip = (kind: Change, n: number, label: string) =>
    h(
      "button",
      {
        type: "button",
        class: `cmp-chip cmp-chip-${kind} cmp-sum`,
        dataset: { summary: kind, count: String(n) },
        "aria-pressed": String(view.show === kind),
        title: `List only the paths ${label}`,
        onclick: () => set({ show: view.show === kind ? "changed" : kind }),
      },
      `${formatCount(n)} ${label}`,
    );
  const summary = h(
    "div",
    { class: "cmp-summary", "aria-label": "Summary of changes" },
    chip("added", s.added, "added"),
    chip("missing", s.missing, "missing"),
    chip("slower", s.slower, "slower"),
    chip("faster", s.faster, "faster"),
    s.recounted ? h("span", { class: "cmp-chip cmp-chip-count" }, `${formatCount(s.recounted)} with a different span count`) : null,
    h(
      "span",
      { class: "cmp-muted", title: "A path is slower or faster when its self time changed by at least this much and by 10%" },
      `slower/faster: self time changed by ≥ ${formatDuration(diff.thresholdNs)} and ≥ 10%`,
    ),
  );

  const show = h(
    "select",
    {
      id: "cmp-show",
      "aria-label": "Rows to list",
      onchange: () => set({ show: show.value as DiffView["show"] }),
    },
    ...(
      [
        ["changed", "Changed (and the paths to them)"],
        ["all", "All"],
        ["added", "Added"],
        ["missing", "Missing"],
        ["slower", "Slower"],
        ["faster", "Faster"],
      ] as const
    ).map(([v, l]) => h("option", { value: v, selected: view.show === v }, l)),
  );
  const filter = h("input", {
    id: "cmp-q",
    type: "search",
    placeholder: "Filter by service or operation",
    value: view.q,
    "aria-label": "Filter by service or operation",
  });
  let timer = 0;
  filter.addEventListener("input", () => {
    clearTimeout(timer);
    timer = window.setTimeout(() => set({ q: filter.value }), 150);
  });
  const controls = h("div", { class: "cmp-controls" }, h("label", { for: "cmp-show" }, "Show "), show, filter);

  const groupsBox = h("div");
  const treeBox = h("div");
  append(
    el,
    h("div", { class: "cmp-cards" }, totalsCard("A", diff.a, diff.b), totalsCard("B", diff.b, diff.a)),
    ...notes,
    summary,
    controls,
    h("h2", null, "By service and operation"),
    groupsBox,
    h("h2", null, "Structure: paths of service and operation from the root"),
    treeBox,
  );

  function set(change: Partial<DiffView>): void {
    Object.assign(view, change);
    show.value = view.show;
    for (const b of summary.querySelectorAll<HTMLButtonElement>("button[data-summary]"))
      b.setAttribute("aria-pressed", String(view.show === b.dataset.summary));
    onView(view);
    draw();
  }

  function draw(): void {
    const q = view.q.trim().toLowerCase();
    // Groups: the changed first, the largest self-time change first.
    const groups = diff.groups.filter((g) => matches(g, view, q));
    groups.sort(
      (x, y) =>
        changeRank[x.change] - changeRank[y.change] ||
        Math.abs(y.selfDelta) - Math.abs(x.selfDelta) ||
        x.service.localeCompare(y.service) ||
        x.operation.localeCompare(y.operation),
    );
    clear(groupsBox);
    if (!groups.length) groupsBox.append(h("p", { class: "state state-empty", role: "status" }, emptyText(view)));
    else {
      const rows = groups.slice(0, maxRows).map((g) =>
        h(
          "tr",
          { dataset: { change: g.change, service: g.service, operation: g.operation } },
          h("td", null, dot(g.service), g.service),
          h("td", null, g.operation),
          ...cells(g, diff, spanIds),
        ),
      );
      append(
        groupsBox,
        h(
          "table",
          { class: "cmp-table cmp-groups" },
          header(["Service", "Operation", ...cols], cols.length - 1),
          h("tbody", null, ...rows),
        ),
        capNote(rows.length, groups.length),
      );
    }

    // Structure: depth-first; "changed" keeps the paths that lead to a change.
    const listed: PathNode[] = [];
    let total = 0;
    for (const id of diff.order) {
      const n = diff.nodes[id];
      const ok = view.show === "changed" && !q ? n.changedBelow : matches(n, view, q);
      if (!ok) continue;
      total++;
      if (listed.length < maxRows) listed.push(n);
    }
    clear(treeBox);
    if (!listed.length) {
      treeBox.append(h("p", { class: "state state-empty", role: "status" }, emptyText(view)));
      return;
    }
    const rows = listed.map((n) => {
      const own = n.change !== "same" || n.countDelta !== 0;
      return h(
        "tr",
        {
          class: own ? "" : "cmp-context",
          dataset: { change: n.change, service: n.service, operation: n.operation, depth: String(n.depth) },
        },
        h(
          "td",
          { class: "cmp-path", style: { paddingLeft: `${8 + Math.min(n.depth, 40) * 14}px` } },
          n.depth > 40 ? h("span", { class: "cmp-muted" }, `${n.depth} · `) : null,
          dot(n.service),
          h("span", { class: "cmp-svc" }, n.service),
          " ",
          h("span", { class: "cmp-op" }, n.operation),
        ),
        ...cells(n, diff, spanIds),
      );
    });
    append(
      treeBox,
      h("table", { class: "cmp-table cmp-tree" }, header(["Path", ...cols], cols.length - 1), h("tbody", null, ...rows)),
      capNote(rows.length, total),
    );
  }

  draw();
}

function emptyText(view: DiffView): string {
  if (view.q) return "No service or operation matches the filter.";
  if (view.show === "changed") return "No differences: every path has the same spans and about the same self time.";
  if (view.show === "all") return "Nothing to list.";
  return `No path is ${view.show}.`;
}
