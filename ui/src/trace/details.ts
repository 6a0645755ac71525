// The span details pane: what the span says (attributes, events, links,
// resource, status) and what its vector clock says (its entries, and the
// spans its start happened before and after, or is concurrent with).

import { h, type Child } from "../dom";
import { formatDuration, formatTime, zoneName } from "../format";
import { bigSub, type Span, type Trace, type WireAttribute } from "../model/trace";
import { href } from "../router";
import { serviceColor } from "../theme";
import { relations, type Related } from "./clock";

/** RELATED_LIMIT is how many spans each causal-order list shows. */
export const RELATED_LIMIT = 20;

export interface DetailsOptions {
  onSelect(i: number): void;
  onClose(): void;
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

function relatedList(trace: Trace, title: string, rel: Related, kind: string, opts: DetailsOptions, why?: string): HTMLElement {
  return h(
    "div",
    { class: "sd-rel", dataset: { order: kind, count: String(rel.count) } },
    h("h4", null, `${title} (${rel.count.toLocaleString()})`, why ? h("span", { class: "sd-muted" }, ` ${why}`) : null),
    rel.first.length
      ? h("ul", null, ...rel.first.map((i) => h("li", null, spanButton(trace, i, opts))))
      : null,
    rel.count > rel.first.length
      ? h("p", { class: "sd-muted" }, `the first ${rel.first.length} in trace order are shown`)
      : null,
  );
}

function clockSection(trace: Trace, span: Span, opts: DetailsOptions): HTMLElement {
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
        "Its causal order with other spans is unknown; only the trace's structure (parent before child) orders it.",
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
  const rel = relations(trace, span.index, RELATED_LIMIT);
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
    h("h4", { class: "sd-subtitle" }, "Causal order of starts, from the clocks"),
    relatedList(trace, "Happened before this span", rel.before, "before", opts),
    relatedList(trace, "Happened after this span", rel.after, "after", opts),
    relatedList(trace, "Concurrent with it", rel.concurrent, "concurrent", opts),
    relatedList(trace, "Order unknown", rel.unknown, "unknown", opts, "(no clock, or a pruned clock that cannot tell)"),
  );
}

/** renderDetails shows span i of trace in el (replacing what was there). */
export function renderDetails(el: HTMLElement, trace: Trace, i: number, opts: DetailsOptions): void {
  const span = trace.spans[i];
  const w = span.wire;
  el.replaceChildren();
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
        row("Start", `+${formatDuration(span.startNs)}`, h("span", { class: "sd-muted" }, ` ${formatTime(trace.startMs + span.startNs / 1e6)} ${zoneName}`)),
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
    clockSection(trace, span, opts),
  );
}
