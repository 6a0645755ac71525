// The results list: one row per found trace, drawn as virtual rows (only
// the rows in view are in the DOM), so 1,000 results cost what 20 do. The
// columns follow the Jaeger UI's ResultItem (root service and operation,
// services, spans, errors, duration, start); the sortable headers its
// order-by options.

import type { TraceSummary } from "../api/search";
import { clear, h } from "../dom";
import { formatCount, formatDuration, formatTime, zoneName } from "../format";
import { href, navigate } from "../router";
import { serviceColor } from "../theme";
import type { Sort } from "./query";

/** Row is a summary with what its row shows computed once. */
export interface Row {
  s: TraceSummary;
  startMs: number;
}

const rowHeight = 46;
const overscan = 8;
const maxPills = 4;

/** The sortable columns: each header flips between its two orders. */
const columns: { label: string; desc: Sort; asc: Sort; cls: string }[] = [
  { label: "Spans", desc: "most-spans", asc: "fewest-spans", cls: "col-spans" },
  { label: "Errors", desc: "most-errors", asc: "fewest-errors", cls: "col-errors" },
  { label: "Duration", desc: "longest", asc: "shortest", cls: "col-duration" },
  { label: "Start", desc: "recent", asc: "oldest", cls: "col-start" },
];

/** sortRows orders rows in place; ties keep the most recent first. */
export function sortRows(rows: Row[], sort: Sort): Row[] {
  const by: Record<Sort, (a: Row, b: Row) => number> = {
    recent: (a, b) => b.startMs - a.startMs,
    oldest: (a, b) => a.startMs - b.startMs,
    longest: (a, b) => b.s.durationNano - a.s.durationNano,
    shortest: (a, b) => a.s.durationNano - b.s.durationNano,
    "most-spans": (a, b) => b.s.spanCount - a.s.spanCount,
    "fewest-spans": (a, b) => a.s.spanCount - b.s.spanCount,
    "most-errors": (a, b) => b.s.errorCount - a.s.errorCount,
    "fewest-errors": (a, b) => a.s.errorCount - b.s.errorCount,
  };
  const f = by[sort];
  return rows.sort((a, b) => f(a, b) || b.startMs - a.startMs || (a.s.traceId < b.s.traceId ? -1 : 1));
}

export interface ResultsList {
  el: HTMLElement;
  /** show replaces the rows (already sorted). */
  show(rows: Row[], sort: Sort): void;
  /** redraw draws the rows in view again (after a theme change). */
  redraw(): void;
  destroy(): void;
}

/**
 * resultsList makes the list. onSort is called with a header's new order;
 * onSelect with the (at most two) traces chosen to compare.
 */
export function resultsList(
  onSort: (s: Sort) => void,
  onSelect: (ids: string[]) => void,
  onHover: (id: string | null) => void,
): ResultsList {
  const header = h("div", { class: "results-row results-header", role: "row" });
  const body = h("div", { class: "results-body", role: "rowgroup" });
  const scroller = h(
    "div",
    { class: "results-scroll", role: "table", "aria-label": "Traces found" },
    header,
    body,
  );
  let rows: Row[] = [];
  let sort: Sort = "recent";
  let maxDur = 1;
  let selected: string[] = [];
  let drawn = { from: -1, to: -1 };
  let raf = 0;

  function drawHeader(): void {
    clear(header);
    header.append(
      h("span", { class: "col-select", role: "columnheader" }, h("span", { class: "sr-only" }, "Compare")),
      h("span", { class: "col-trace", role: "columnheader" }, "Trace"),
      h("span", { class: "col-services", role: "columnheader" }, "Services"),
    );
    for (const c of columns) {
      const on = sort === c.desc || sort === c.asc;
      const next = sort === c.desc ? c.asc : c.desc;
      header.append(
        h(
          "span",
          {
            class: c.cls,
            role: "columnheader",
            "aria-sort": on ? (sort === c.desc ? "descending" : "ascending") : "none",
          },
          h(
            "button",
            {
              type: "button",
              class: "sort" + (on ? " on" : ""),
              dataset: { sort: next },
              title: `Sort: ${next}`,
              onclick: () => onSort(next),
            },
            c.label === "Start" ? `Start (${zoneName})` : c.label,
            on ? (sort === c.desc ? " ↓" : " ↑") : "",
          ),
        ),
      );
    }
  }

  function toggle(id: string, on: boolean): void {
    selected = selected.filter((x) => x !== id);
    if (on) selected.push(id);
    if (selected.length > 2) selected = selected.slice(-2);
    onSelect(selected.slice());
    // Update the rows in place: redrawing them under the pointer could
    // split a click between two elements.
    for (const row of body.children as HTMLCollectionOf<HTMLElement>) {
      const box = row.querySelector<HTMLInputElement>("input[type=checkbox]");
      if (box) box.checked = selected.includes(row.dataset.traceId ?? "");
    }
  }

  function rowEl(r: Row, i: number): HTMLElement {
    const s = r.s;
    const id = s.traceId;
    // Services with errors first (they are what to look at), then by name.
    const svcs = s.errorCount ? s.services.slice().sort((a, b) => Number(b.errorCount > 0) - Number(a.errorCount > 0)) : s.services;
    const pills = svcs.slice(0, maxPills).map((sv) =>
      h(
        "span",
        {
          class: sv.errorCount ? "pill pill-error" : "pill",
          title: `${sv.service}: ${sv.spanCount} spans, ${sv.errorCount} errors`,
        },
        h("span", { class: "dot", style: { background: serviceColor(sv.service) } }),
        sv.service,
        h("span", { class: "pill-count" }, String(sv.spanCount)),
        sv.errorCount ? h("span", { class: "pill-errors" }, `${sv.errorCount}!`) : null,
      ),
    );
    const more = s.services.length - maxPills;
    const title = `${s.rootService}: ${s.rootName}`;
    return h(
      "div",
      {
        class: "results-row" + (s.errorCount ? " has-error" : ""),
        role: "row",
        "aria-rowindex": String(i + 2),
        style: { top: `${i * rowHeight}px` },
        dataset: { traceId: id, index: String(i) },
        onmouseenter: () => onHover(id),
        onmouseleave: () => onHover(null),
        onclick: (e: MouseEvent) => {
          const t = e.target as Element;
          if (t.closest("a, input, label")) return;
          navigate(`/trace/${id}`);
        },
      },
      h(
        "span",
        { class: "col-select", role: "cell" },
        h("input", {
          type: "checkbox",
          checked: selected.includes(id),
          "aria-label": `Select ${title} for comparison`,
          onchange: (e: Event) => toggle(id, (e.target as HTMLInputElement).checked),
        }),
      ),
      h(
        "span",
        { class: "col-trace", role: "cell" },
        h(
          "a",
          { class: "trace-link", href: href(`/trace/${id}`), title },
          h("span", { class: "dot", style: { background: serviceColor(s.rootService) } }),
          h("span", { class: "root-service" }, s.rootService),
          " ",
          h("span", { class: "root-name" }, s.hasRoot ? s.rootName : `${s.rootName} (no root span)`),
        ),
        h("span", { class: "trace-id mono" }, id.slice(0, 12)),
      ),
      h("span", { class: "col-services", role: "cell" }, ...pills, more > 0 ? h("span", { class: "more" }, `+${more}`) : null),
      h("span", { class: "col-spans num", role: "cell" }, formatCount(s.spanCount)),
      h("span", { class: "col-errors num" + (s.errorCount ? " errors" : ""), role: "cell" }, formatCount(s.errorCount)),
      h(
        "span",
        { class: "col-duration num", role: "cell" },
        h("span", { class: "bar", style: { width: `${Math.max(1, (100 * s.durationNano) / maxDur)}%` } }),
        h("span", { class: "dur" }, formatDuration(s.durationNano)),
      ),
      h("span", { class: "col-start", role: "cell" }, formatTime(r.startMs)),
    );
  }

  function draw(): void {
    raf = 0;
    const top = scroller.scrollTop - header.offsetHeight;
    const height = scroller.clientHeight || 800;
    const from = Math.max(0, Math.floor(top / rowHeight) - overscan);
    const to = Math.min(rows.length, Math.ceil((top + height) / rowHeight) + overscan);
    if (from === drawn.from && to === drawn.to) return;
    drawn = { from, to };
    const frag = document.createDocumentFragment();
    for (let i = from; i < to; i++) frag.appendChild(rowEl(rows[i], i));
    clear(body);
    body.appendChild(frag);
  }

  function schedule(): void {
    if (!raf) raf = requestAnimationFrame(draw);
  }

  scroller.addEventListener("scroll", schedule, { passive: true });
  // A resize draws only when the rows in view change.
  const ro = new ResizeObserver(schedule);
  ro.observe(scroller);

  return {
    el: scroller,
    show(next, s) {
      rows = next;
      sort = s;
      maxDur = Math.max(1, ...rows.map((r) => r.s.durationNano));
      const ids = new Set(rows.map((r) => r.s.traceId));
      const kept = selected.filter((id) => ids.has(id));
      if (kept.length !== selected.length) {
        selected = kept;
        onSelect(selected.slice());
      }
      body.style.height = `${rows.length * rowHeight}px`;
      scroller.setAttribute("aria-rowcount", String(rows.length + 1));
      drawHeader();
      drawn = { from: -1, to: -1 };
      draw();
    },
    redraw() {
      drawn = { from: -1, to: -1 };
      draw();
    },
    destroy() {
      if (raf) cancelAnimationFrame(raf);
      ro.disconnect();
    },
  };
}
