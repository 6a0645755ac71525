// The span details pane: what the span says (attributes, events, links,
// resource, status), its vector clock's entries, and its causal relation to
// the other spans as the analysis API answers it (trace/causal.ts): the
// spans whose start happened before and after its start, or is concurrent
// with it, or whose order is unknown, each with the reason. With the
// adjusted view, both the recorded and the adjusted times.

import { h, type Child } from "../dom";
import { formatDuration, formatTime, zoneName } from "../format";
import { bigSub, type Span, type Trace, type WireAttribute } from "../model/trace";
import { href } from "../router";
import { serviceColor } from "../theme";
import { REL_AFTER, REL_BEFORE, REL_CONCURRENT, REL_UNKNOWN, reasonOf, type CausalView } from "./causal";

/** RELATED_LIMIT is how many spans each causal-order list shows. */
export const RELATED_LIMIT = 20;

export interface DetailsOptions {
  onSelect(i: number): void;
  onClose(): void;
  /** The span's times in the adjusted view (ns after the trace's recorded start), when it is on. */
  adjusted?: { start: number; end: number; shift: number };
}

function section(title: string, ...children: Child[]): HTMLElement {
  return h("section", { class: "sd-section" }, h("h3", null, title), ...children);
}

function attrTable(attrs: WireAttribute[] | undefined, empty: string): HTMLElement {
  if (!attrs?.length) return h("p", { class: "sd-muted" }, empty);
  const sorted = [...attrs].sort((a, b) => a.key.localeCompare(b.key));
  return h(
    "table",
    { class: "sd-kv" },
    h(
      "tbody",
      null,
      ...sorted.map((a) =>
        h(
          "tr",
          { dataset: { key: a.key } },
          h("th", { scope: "row" }, a.key),
          h("td", null, h("span", { class: "sd-value" }, a.value), a.type ? h("span", { class: "sd-type" }, a.type) : null),
        ),
      ),
    ),
  );
}

function row(k: string, ...v: Child[]): HTMLElement {
  return h("tr", null, h("th", { scope: "row" }, k), h("td", null, ...v));
}

function spanButton(trace: Trace, i: number, opts: DetailsOptions): HTMLElement {
  const s = trace.spans[i];
  return h(
    "button",
    { type: "button", class: "sd-span", dataset: { spanId: s.spanId }, onclick: () => opts.onSelect(i) },
    h("span", { class: "tl-swatch", style: { background: serviceColor(s.service) } }),
    `${s.service} · ${s.name}`,
  );
}

const relLists = [
  { code: REL_BEFORE, kind: "before", title: "Started before this span" },
  { code: REL_AFTER, kind: "after", title: "Started after this span" },
  { code: REL_CONCURRENT, kind: "concurrent", title: "Concurrent with it" },
  { code: REL_UNKNOWN, kind: "unknown", title: "Order unknown" },
];

/**
 * renderCausal fills el (the details' causal section) with v: per relation
 * the count, the counts by reason, and the first spans in trace order,
 * each with its reason. null: the API could not say.
 */
export function renderCausal(el: HTMLElement, trace: Trace, v: CausalView | null, opts: DetailsOptions): void {
  el.replaceChildren(h("h3", null, "Causal order"));
  if (!v) {
    el.append(h("p", { class: "sd-muted sd-causal-none" }, "The analysis API could not answer the span's causal order."));
    return;
  }
  el.dataset.span = trace.spans[v.span].spanId;
  el.append(
    h("p", { class: "sd-muted" }, "How the other spans' starts relate to this span's start, from the vector clocks and the trace's structure (Tracer's analysis). Across a hop without clocks the order is unknown, never concurrent."),
  );
  if (v.truncated) el.append(h("p", { class: "tv-warning" }, "The trace has more spans than the server analysed: the rest are not shaded."));
  const n = trace.spans.length;
  for (const l of relLists) {
    const first: number[] = [];
    const byReason = new Map<string, number>();
    for (let j = 0; j < n; j++) {
      if (v.rel[j] !== l.code) continue;
      if (first.length < RELATED_LIMIT) first.push(j);
      const r = reasonOf(v, j);
      byReason.set(r, (byReason.get(r) ?? 0) + 1);
    }
    const count = v.counts[l.code];
    const reasons = [...byReason].sort((a, b) => b[1] - a[1]).map(([r, c]) => `${r}: ${c.toLocaleString()}`).join(", ");
    el.append(
      h(
        "div",
        { class: `sd-rel sd-rel-${l.kind}`, dataset: { order: l.kind, count: String(count) } },
        h("h4", null, h("span", { class: "sd-rel-swatch", "aria-hidden": "true" }), `${l.title} (${count.toLocaleString()})`, reasons ? h("span", { class: "sd-muted sd-rel-reasons" }, ` by ${reasons}`) : null),
        first.length
          ? h(
              "ul",
              null,
              ...first.map((j) => h("li", null, spanButton(trace, j, opts), h("span", { class: "sd-muted sd-reason", dataset: { reason: String.fromCharCode(v.reason[j] || 32).trim() } }, ` ${reasonOf(v, j)}`))),
            )
          : null,
        count > first.length ? h("p", { class: "sd-muted" }, `the first ${first.length} in trace order are shown`) : null,
      ),
    );
  }
}

function clockSection(span: Span): HTMLElement {
  const c = span.wire.clock;
  if (c === "none" || c === "invalid" || typeof c !== "object") {
    const why =
      c === "invalid"
        ? `The span's clock attributes are malformed${span.wire.clockError ? `: ${span.wire.clockError}` : ""}. `
        : "The span has no vector clock: it was recorded without Tracer's SDK (plain OpenTelemetry, say). ";
    return section(
      "Vector clock",
      h(
        "p",
        { class: "sd-clock-none", dataset: { clock: c === "invalid" ? "invalid" : "none" } },
        why,
        "Only the trace's structure (parent before child, a call before its reply) orders it with other spans; see its causal order below.",
      ),
    );
  }
  const entries = (e: Record<string, number>, pruned: boolean | undefined) =>
    h(
      "table",
      { class: "sd-kv sd-clock" },
      h(
        "tbody",
        null,
        ...Object.keys(e)
          .sort()
          .map((node) => h("tr", { class: node === c.node ? "sd-own" : "" }, h("th", { scope: "row" }, node), h("td", null, String(e[node])))),
        pruned ? h("tr", null, h("td", { colspan: "2", class: "sd-muted" }, "pruned: entries were left out, so order across them is unknown")) : null,
      ),
    );
  const endSame = JSON.stringify(c.start) === JSON.stringify(c.end) && !!c.startPruned === !!c.endPruned;
  return section(
    "Vector clock",
    h(
      "table",
      { class: "sd-kv" },
      h(
        "tbody",
        null,
        row("Node", h("code", { class: "sd-node" }, c.node)),
        row("Tick", h("span", { class: "sd-tick" }, String(c.tick)), h("span", { class: "sd-muted" }, " (the span's start is this event of its node)")),
      ),
    ),
    h("h4", null, "At start"),
    entries(c.start, c.startPruned),
    h("h4", null, "At end"),
    endSame ? h("p", { class: "sd-muted" }, "the same as at start (the clock did not move while the span was open)") : entries(c.end, c.endPruned),
  );
}

/**
 * renderDetails shows span i of trace in el (replacing what was there). It
 * returns the causal section, for renderCausal once the answer is in.
 */
export function renderDetails(el: HTMLElement, trace: Trace, i: number, opts: DetailsOptions): HTMLElement {
  const span = trace.spans[i];
  const w = span.wire;
  el.replaceChildren();
  const causal = h("section", { class: "sd-section sd-causal", "aria-live": "polite" }, h("h3", null, "Causal order"), h("p", { class: "sd-muted" }, "Asking the analysis…"));
  const parent = span.parent >= 0 ? trace.spans[span.parent] : null;
  const status = h(
    "span",
    { class: `sd-status sd-status-${span.status}` },
    span.status,
    span.statusMessage ? `: ${span.statusMessage}` : "",
  );
  const dropped = [
    w.droppedAttributesCount ? `${w.droppedAttributesCount} attributes` : "",
    w.droppedEventsCount ? `${w.droppedEventsCount} events` : "",
    w.droppedLinksCount ? `${w.droppedLinksCount} links` : "",
  ].filter(Boolean);
  el.append(
    h(
      "div",
      { class: "sd-head" },
      h("span", { class: "tl-swatch", style: { background: serviceColor(span.service) } }),
      h("h2", { class: "sd-title" }, span.name),
      h("button", { type: "button", class: "sd-close", title: "Close (Esc)", "aria-label": "Close details", onclick: opts.onClose }, "×"),
    ),
    h(
      "table",
      { class: "sd-kv sd-summary" },
      h(
        "tbody",
        null,
        row("Service", span.service),
        row("Duration", h("span", { class: "sd-duration" }, formatDuration(span.durationNs))),
        row(opts.adjusted ? "Start (recorded)" : "Start", h("span", { class: "sd-start" }, `+${formatDuration(span.startNs)}`), h("span", { class: "sd-muted" }, ` ${formatTime(trace.startMs + span.startNs / 1e6)} ${zoneName}`)),
        opts.adjusted ? row("End (recorded)", h("span", { class: "sd-end" }, `+${formatDuration(span.startNs + span.durationNs)}`)) : null,
        opts.adjusted ? adjustedRows(trace, opts.adjusted) : null,
        row("Kind", span.kind),
        row("Status", status),
        row("Span ID", h("code", { class: "sd-span-id" }, span.spanId)),
        row(
          "Parent",
          parent
            ? spanButton(trace, parent.index, opts)
            : span.parentSpanId
              ? h("span", null, h("code", null, span.parentSpanId), h("span", { class: "sd-muted" }, " (not in this trace)"))
              : h("span", { class: "sd-muted" }, "none (a root span)"),
        ),
        dropped.length ? row("Dropped", dropped.join(", ")) : null,
      ),
    ),
    section("Attributes", attrTable(w.attributes, "none")),
    section(
      `Events (${w.events?.length ?? 0})`,
      w.events?.length
        ? h(
            "ol",
            { class: "sd-events" },
            ...w.events.map((ev) =>
              h(
                "li",
                { class: "sd-event" },
                h("span", { class: "sd-offset" }, `+${formatDuration(bigSub(ev.timeUnixNano, trace.startUnixNano) - span.startNs)}`),
                " ",
                h("strong", null, ev.name),
                ev.attributes.length ? attrTable(ev.attributes, "") : null,
              ),
            ),
          )
        : h("p", { class: "sd-muted" }, "none"),
    ),
    section(
      `Links (${w.links?.length ?? 0})`,
      w.links?.length
        ? h(
            "ul",
            { class: "sd-links" },
            ...w.links.map((l) =>
              h(
                "li",
                null,
                h(
                  "a",
                  {
                    class: "sd-link",
                    href: href(`/trace/${l.traceId}`, { span: l.spanId }),
                    onclick: (e: MouseEvent) => {
                      // A link into this trace selects the span without reloading it.
                      const target = l.traceId === trace.traceId ? trace.byId.get(l.spanId) : undefined;
                      if (target && !e.ctrlKey && !e.metaKey && !e.shiftKey) {
                        e.preventDefault();
                        opts.onSelect(target.index);
                      }
                    },
                  },
                  l.traceId === trace.traceId ? "this trace" : `trace ${l.traceId}`,
                  `, span ${l.spanId}`,
                ),
                l.attributes.length ? attrTable(l.attributes, "") : null,
              ),
            ),
          )
        : h("p", { class: "sd-muted" }, "none"),
    ),
    section(
      "Resource",
      attrTable(trace.resources[w.resource], "none"),
      w.scope ? h("p", { class: "sd-muted" }, `Scope: ${w.scope.name}${w.scope.version ? " " + w.scope.version : ""}`) : null,
    ),
    clockSection(span),
    causal,
  );
  return causal;
}

function adjustedRows(trace: Trace, a: { start: number; end: number; shift: number }): DocumentFragment {
  const rel = (ns: number) => (ns < 0 ? `−${formatDuration(-ns)}` : `+${formatDuration(ns)}`);
  const f = document.createDocumentFragment();
  f.append(
    row("Start (adjusted)", h("span", { class: "sd-adj-start" }, rel(a.start)), h("span", { class: "sd-muted" }, ` ${formatTime(trace.startMs + a.start / 1e6)} ${zoneName}`)),
    row("End (adjusted)", h("span", { class: "sd-adj-end" }, rel(a.end))),
    row(
      "Shift",
      h("span", { class: "sd-adj-shift", dataset: { shift: String(a.shift) } }, a.shift === 0 ? "none" : (a.shift < 0 ? "−" : "+") + formatDuration(Math.abs(a.shift))),
      h("span", { class: "sd-muted" }, " its instance's estimated clock offset, undone (a view: the stored times are not changed)"),
    ),
  );
  return f;
}
