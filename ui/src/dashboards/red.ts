// RED series turned into what the pages show: one array slot per step of the
// window (a step without calls is a gap, not a zero), and a summary over
// the whole window.

import { nanoToMs } from "../format";
import type { REDPoint, REDSeries } from "../api/metrics";
import type { Slots } from "./window";

/** Columns is a series laid out on a window's steps; null where a step had no calls. */
export interface Columns {
  /** x is each step's start in seconds since the epoch (uPlot's time scale). */
  x: number[];
  requests: number[];
  /** rate is requests per second; 0 (not a gap) where a step had no calls. */
  rate: number[];
  errorPct: (number | null)[];
  p50: (number | null)[];
  p95: (number | null)[];
  p99: (number | null)[];
  /** filled counts the steps that had calls. */
  filled: number;
}

/** columns lays the points of series on the steps of s; points outside s are dropped. */
export function columns(points: REDPoint[], s: Slots): Columns {
  const n = s.count;
  const c: Columns = {
    x: new Array<number>(n),
    requests: new Array<number>(n).fill(0),
    rate: new Array<number>(n).fill(0),
    errorPct: new Array<number | null>(n).fill(null),
    p50: new Array<number | null>(n).fill(null),
    p95: new Array<number | null>(n).fill(null),
    p99: new Array<number | null>(n).fill(null),
    filled: 0,
  };
  for (let i = 0; i < n; i++) c.x[i] = (s.startMs + i * s.stepMs) / 1000;
  for (const p of points) {
    const i = Math.floor((nanoToMs(p.timeUnixNano) - s.startMs) / s.stepMs);
    if (i < 0 || i >= n || p.requests <= 0) continue;
    if (c.requests[i] === 0) c.filled++;
    c.requests[i] = p.requests;
    c.rate[i] = p.requestRate;
    c.errorPct[i] = p.errorRate * 100;
    c.p50[i] = p.p50Ms;
    c.p95[i] = p.p95Ms;
    c.p99[i] = p.p99Ms;
  }
  return c;
}

/** Summary is a series over a whole window. */
export interface Summary {
  requests: number;
  errors: number;
  /** ratePerSec is requests over the window's length. */
  ratePerSec: number;
  /** errorRate is errors / requests, NaN without requests. */
  errorRate: number;
  /** p99MaxMs is the highest p99 of the points (quantiles of steps cannot be merged), NaN without requests. */
  p99MaxMs: number;
}

/** summarize sums points over a window windowMs long. */
export function summarize(points: REDPoint[], windowMs: number): Summary {
  let requests = 0;
  let errors = 0;
  let p99 = NaN;
  for (const p of points) {
    if (p.requests <= 0) continue;
    requests += p.requests;
    errors += p.errors;
    if (!(p.p99Ms <= p99)) p99 = p.p99Ms;
  }
  return {
    requests,
    errors,
    ratePerSec: requests / (windowMs / 1000),
    errorRate: requests > 0 ? errors / requests : NaN,
    p99MaxMs: p99,
  };
}

/** seriesKey names a series: its service, or service and operation. */
export function seriesKey(s: REDSeries): string {
  return s.operation === undefined ? s.service : `${s.service}\u0000${s.operation}`;
}

/** formatRate shows requests per second, or per minute below 0.1/s: 12.3/s, 0.25/s, 1.5/min. */
export function formatRate(perSec: number): string {
  if (!Number.isFinite(perSec)) return "–";
  if (perSec === 0) return "0/s";
  if (perSec >= 100) return `${perSec.toFixed(0)}/s`;
  if (perSec >= 1) return `${perSec.toFixed(1)}/s`;
  if (perSec >= 0.1) return `${perSec.toFixed(2)}/s`;
  const perMin = perSec * 60;
  return `${perMin >= 1 ? perMin.toFixed(1) : perMin.toPrecision(2)}/min`;
}

/** formatPct shows a ratio as a percentage: 3.2%, "–" without calls. */
export function formatPct(ratio: number): string {
  if (!Number.isFinite(ratio)) return "–";
  const p = ratio * 100;
  if (p === 0) return "0%";
  if (p < 0.1) return "<0.1%";
  return `${p >= 10 ? p.toFixed(0) : p.toFixed(1)}%`;
}
