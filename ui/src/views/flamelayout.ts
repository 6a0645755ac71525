// The flame graph's layout: spans grouped by depth, each depth by start, in
// flat typed arrays built once per trace (no object per depth, so a
// 100,000-deep chain costs what a flat trace does). Pure, no DOM.

import type { Trace } from "../model/trace";

/** FlameLayout is the per-trace data the flame graph draws from. */
export interface FlameLayout {
  /** The number of depths (rows). */
  depths: number;
  /** Span indexes, by depth, then by start. */
  order: Int32Array;
  /** Depth d's spans are order[rowStart[d]] to order[rowStart[d + 1] - 1]. */
  rowStart: Int32Array;
  /** The longest span of each depth, ns (bounds the search for spans in view). */
  maxDur: Float64Array;
}

/** flameLayout groups trace's spans by depth, each depth by start: O(n log n). */
export function flameLayout(trace: Trace): FlameLayout {
  const spans = trace.spans;
  let depths = 0;
  for (const s of spans) if (s.depth + 1 > depths) depths = s.depth + 1;
  const rowStart = new Int32Array(depths + 1);
  const maxDur = new Float64Array(depths);
  for (const s of spans) {
    rowStart[s.depth + 1]++;
    if (s.durationNs > maxDur[s.depth]) maxDur[s.depth] = s.durationNs;
  }
  for (let d = 0; d < depths; d++) rowStart[d + 1] += rowStart[d];
  const fill = rowStart.slice(0, depths);
  const order = new Int32Array(spans.length);
  for (const s of spans) order[fill[s.depth]++] = s.index;
  const byStart = (x: number, y: number) => spans[x].startNs - spans[y].startNs || x - y;
  for (let d = 0; d < depths; d++) {
    if (rowStart[d + 1] - rowStart[d] > 1) order.subarray(rowStart[d], rowStart[d + 1]).sort(byStart);
  }
  return { depths, order, rowStart, maxDur };
}

/** firstFrom returns the first position in depth d's part of layout.order whose span starts at or after t. */
export function firstFrom(trace: Trace, layout: FlameLayout, d: number, t: number): number {
  let lo = layout.rowStart[d];
  let hi = layout.rowStart[d + 1];
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (trace.spans[layout.order[mid]].startNs < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
