// Clock skew in a trace, from Tracer's analysis API
// (GET /api/tracer/traces/{id}/skew, analysis.Skew): where happened-before
// orders two events of different service instances but their timestamps
// say otherwise, the offset between the two clocks that explains it. The
// trace view warns about each skewed pair and offers an adjusted view that
// shifts each instance by its estimated offset (adjusted=true); the stored
// timestamps are never changed, the adjusted times are only drawn.

import { getJSON } from "../api";
import { h } from "../dom";
import { formatDuration } from "../format";
import { bigSub, type Trace } from "../model/trace";

export interface SkewConstraint {
  beforeSpanId: string;
  beforeEvent: "start" | "end";
  afterSpanId: string;
  afterEvent: "start" | "end";
  boundNano: number;
  via: string;
  reason: string;
}

export interface SkewPair {
  a: number;
  b: number;
  minSkewNano: number | null;
  maxSkewNano: number | null;
  forward: number;
  backward: number;
  confidence: "high" | "medium" | "low" | "contradicted";
  skewed: boolean;
  violationCount: number;
  violations: SkewConstraint[];
}

export interface SkewInstance {
  service: string;
  instance: string;
  offsetNano: number;
  minOffsetNano: number | null;
  maxOffsetNano: number | null;
  contradicted: boolean;
}

export interface SkewAnswer {
  traceId: string;
  truncated: boolean;
  reference: number;
  unestimated: boolean;
  instances: SkewInstance[];
  pairs: SkewPair[];
  adjusted: boolean;
  spans?: { spanId: string; startTimeUnixNano: string; endTimeUnixNano: string; shiftNano: number; adjusted: boolean }[];
}

/** fetchSkew asks for the trace's skew, with every span's adjusted times when adjusted. */
export function fetchSkew(trace: Trace, adjusted: boolean, signal?: AbortSignal): Promise<SkewAnswer> {
  return getJSON<SkewAnswer>(`/api/tracer/traces/${encodeURIComponent(trace.traceId)}/skew`, { adjusted: adjusted || undefined }, signal);
}

/** Times are the timeline's span times: ns after origin, per span index. */
export interface Times {
  start: Float64Array;
  end: Float64Array;
  /** The latest end: the time axis' length. */
  total: number;
  /** The time axis' zero, ns after the trace's (recorded) start. */
  origin: number;
  /** Per span: the shift applied, ns (0 for the recorded times). */
  shift: Float64Array;
  adjusted: boolean;
}

/** recordedTimes are the stored times of the spans. */
export function recordedTimes(trace: Trace): Times {
  const n = trace.spans.length;
  const start = new Float64Array(n);
  const end = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    start[i] = trace.spans[i].startNs;
    end[i] = start[i] + trace.spans[i].durationNs;
  }
  return { start, end, total: Math.max(trace.durationNs, 1), origin: 0, shift: new Float64Array(n), adjusted: false };
}

/**
 * adjustedTimes are the API's adjusted times of the spans (the spans the
 * answer lacks keep theirs), relative to the earliest adjusted start.
 */
export function adjustedTimes(trace: Trace, ans: SkewAnswer): Times {
  const t = recordedTimes(trace);
  for (const s of ans.spans ?? []) {
    const span = trace.byId.get(s.spanId);
    if (!span) continue;
    t.start[span.index] = bigSub(s.startTimeUnixNano, trace.startUnixNano);
    t.end[span.index] = bigSub(s.endTimeUnixNano, trace.startUnixNano);
    t.shift[span.index] = s.shiftNano;
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < t.start.length; i++) {
    if (t.start[i] < lo) lo = t.start[i];
    if (t.end[i] > hi) hi = t.end[i];
  }
  if (!(lo <= hi)) return t;
  for (let i = 0; i < t.start.length; i++) {
    t.start[i] -= lo;
    t.end[i] -= lo;
  }
  t.origin = lo;
  t.total = Math.max(hi - lo, 1);
  t.adjusted = true;
  return t;
}

/** skewedPairs are the pairs whose timestamps contradict happened-before. */
export function skewedPairs(ans: SkewAnswer): SkewPair[] {
  return ans.pairs.filter((p) => p.skewed);
}

function instanceName(in_: SkewInstance): string {
  return in_.instance && in_.instance !== in_.service ? `${in_.service} (${in_.instance})` : in_.service;
}

/** interval says how far b's clock is ahead of a's: "at least x, at most y". */
export function interval(p: SkewPair): string {
  const f = (ns: number) => (ns < 0 ? "−" + formatDuration(-ns) : formatDuration(ns));
  const parts: string[] = [];
  if (p.minSkewNano !== null) parts.push(`at least ${f(p.minSkewNano)}`);
  if (p.maxSkewNano !== null) parts.push(`at most ${f(p.maxSkewNano)}`);
  return parts.join(", ") || "unbounded";
}

export interface SkewWarningOptions {
  /** Select span i (a span that shows the skew). */
  onSelect(i: number): void;
  /** The adjusted view is on. */
  adjusted: boolean;
  /** The viewer turned the adjusted view on or off. */
  onAdjusted(on: boolean): void;
}

/** MAX_SKEW_SPANS bounds the spans listed per pair. */
const MAX_SKEW_SPANS = 6;

/**
 * skewWarning is the trace header's warning: per skewed pair of instances,
 * the offset interval, the confidence and the spans that show it, with the
 * adjusted-view toggle. Null when no pair is skewed and the view is not
 * adjusted (then nothing is shown).
 */
export function skewWarning(trace: Trace, ans: SkewAnswer, opts: SkewWarningOptions): HTMLElement | null {
  const pairs = skewedPairs(ans);
  if (!pairs.length && !opts.adjusted) return null;
  const toggle = h("input", { type: "checkbox", class: "tv-adjusted-toggle", checked: opts.adjusted });
  toggle.addEventListener("change", () => opts.onAdjusted(toggle.checked));
  const items = pairs.map((p) => {
    const a = ans.instances[p.a];
    const b = ans.instances[p.b];
    const seen = new Set<string>();
    for (const v of p.violations) {
      seen.add(v.beforeSpanId);
      seen.add(v.afterSpanId);
    }
    const ids = [...seen].filter((id) => trace.byId.has(id)).slice(0, MAX_SKEW_SPANS);
    return h(
      "li",
      {
        class: "tv-skew-pair",
        dataset: {
          a: a.service,
          b: b.service,
          aInstance: a.instance,
          bInstance: b.instance,
          min: p.minSkewNano === null ? "" : String(p.minSkewNano),
          max: p.maxSkewNano === null ? "" : String(p.maxSkewNano),
          confidence: p.confidence,
        },
      },
      h("strong", null, instanceName(b)),
      "'s clock is ahead of ",
      h("strong", null, instanceName(a)),
      "'s by ",
      h("span", { class: "tv-skew-interval" }, interval(p)),
      " ",
      h("span", { class: `tv-skew-confidence is-${p.confidence}`, title: "high: both directions bound it, 3 constraints each or more; medium: both do; low: one does; contradicted: no constant offset explains the timestamps" }, `confidence ${p.confidence}`),
      `: ${p.violationCount} order${p.violationCount === 1 ? "" : "s"} the timestamps contradict, in `,
      ...ids.flatMap((id, k) => {
        const s = trace.byId.get(id)!;
        return [
          k ? ", " : "",
          h("button", { type: "button", class: "tv-skew-span", dataset: { spanId: id }, title: `Select ${s.service} · ${s.name}`, onclick: () => opts.onSelect(s.index) }, `${s.service} · ${s.name}`),
        ];
      }),
      seen.size > ids.length ? ` and ${seen.size - ids.length} more` : "",
    );
  });
  return h(
    "div",
    { class: "tv-skew", role: pairs.length ? "alert" : "status" },
    h(
      "p",
      { class: "tv-skew-title" },
      pairs.length
        ? `Clock skew: the timestamps of ${pairs.length} pair${pairs.length === 1 ? "" : "s"} of service instances contradict the causal order.`
        : "No clock skew found.",
      " ",
      h("label", { class: "tv-adjusted", title: "Shift each instance by its estimated clock offset (a view: stored timestamps are not changed)" }, toggle, " Adjusted times"),
    ),
    pairs.length ? h("ul", { class: "tv-skew-pairs" }, ...items) : null,
    ans.unestimated ? h("p", { class: "tv-note" }, "Too many instances to estimate their offsets jointly: the adjusted view shifts none.") : null,
    ans.truncated ? h("p", { class: "tv-note" }, "The trace has more spans than the server analysed (its per-trace limit): the rest are not adjusted.") : null,
  );
}
