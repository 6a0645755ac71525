// Causal order between spans from their vector clocks, computed in the
// browser on selection: one pass over the trace, the lists bounded.

import type { Span, Trace, WireClock } from "../model/trace";

export type Order = "equal" | "before" | "after" | "concurrent" | "unknown";

type Clock = Exclude<WireClock, "none" | "invalid">;

/** spanClock returns the span's clock, or null for "none" and "invalid". */
export function spanClock(s: Span): Clock | null {
  const c = s.wire.clock;
  return typeof c === "object" && c !== null ? c : null;
}

/**
 * compareStarts tells how span a's start relates to span b's start: "before"
 * means a's start happened before b's. It is vclock.CompareStarts
 * (vclock/attributes.go), the rule the server's analysis uses: b's start
 * clock has seen a's own tick. An order is reported only when a clock shows
 * it; "concurrent" needs both clocks whole (not pruned), else it is
 * "unknown". A span without a clock is "unknown" against everything.
 */
export function compareStarts(a: Clock | null, b: Clock | null): Order {
  if (!a || !b) return "unknown";
  if (a.node === b.node && a.tick === b.tick) return "equal";
  const ab = (b.start[a.node] ?? 0) >= a.tick;
  const ba = (a.start[b.node] ?? 0) >= b.tick;
  if (ab && ba) return "unknown"; // each saw the other: not clocks of one trace
  if (ab) return "before";
  if (ba) return "after";
  if (a.startPruned || b.startPruned) return "unknown";
  return "concurrent";
}

export interface Related {
  count: number;
  /** The first spans in display order, at most the limit. */
  first: number[];
}

export interface Relations {
  /** Spans whose start happened before the span's start. */
  before: Related;
  /** Spans whose start happened after it. */
  after: Related;
  concurrent: Related;
  /** The clocks cannot tell (pruned, no clock, invalid, or equal events). */
  unknown: Related;
}

/** relations compares span i's clock with every other span's: O(n), lists capped at limit. */
export function relations(trace: Trace, i: number, limit: number): Relations {
  const r: Relations = {
    before: { count: 0, first: [] },
    after: { count: 0, first: [] },
    concurrent: { count: 0, first: [] },
    unknown: { count: 0, first: [] },
  };
  const me = spanClock(trace.spans[i]);
  for (const s of trace.spans) {
    if (s.index === i) continue;
    // compareStarts(other, me) = "before": the other span's start happened before this one's.
    const o = compareStarts(spanClock(s), me);
    const bucket = o === "before" ? r.before : o === "after" ? r.after : o === "concurrent" ? r.concurrent : r.unknown;
    bucket.count++;
    if (bucket.first.length < limit) bucket.first.push(s.index);
  }
  return r;
}
