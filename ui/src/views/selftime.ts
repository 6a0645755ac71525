// Self time: the part of a span's duration not covered by any of its
// children, the union of the children's intervals clipped to the parent (so
// overlapping or parallel children are counted once and a child that runs
// past its parent counts only inside it). Pure, no DOM: the flame graph, the
// statistics table and the compare page share it.

import type { Trace } from "../model/trace";

/**
 * selfTimes returns each span's self time in nanoseconds, indexed like
 * trace.spans. One pass over every span's children, which the model keeps
 * sorted by start: O(n) in all, no recursion.
 */
export function selfTimes(trace: Trace): Float64Array {
  const spans = trace.spans;
  const out = new Float64Array(spans.length);
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i];
    const start = s.startNs;
    const end = s.startNs + Math.max(0, s.durationNs);
    let covered = 0;
    // The sweep's current covered run [runStart, runEnd).
    let runStart = 0;
    let runEnd = -Infinity;
    for (const ci of s.children) {
      const c = spans[ci];
      const cs = Math.max(start, c.startNs);
      const ce = Math.min(end, c.startNs + Math.max(0, c.durationNs));
      if (ce <= cs) continue;
      if (cs > runEnd) {
        if (runEnd > runStart) covered += runEnd - runStart;
        runStart = cs;
        runEnd = ce;
      } else if (ce > runEnd) runEnd = ce;
    }
    if (runEnd > runStart) covered += runEnd - runStart;
    out[i] = end - start - covered;
  }
  return out;
}
