// Time windows and steps, shared by the dashboards and the dependency graph:
// the presets a viewer picks from, how they read from and write to the URL,
// and the query range they mean.

const minute = 60_000;

/** Preset is a named duration ("1h"), as shown and as kept in the URL. */
export interface Preset {
  name: string;
  ms: number;
}

/** windows are the time windows offered, latest first. */
export const windows: Preset[] = [
  { name: "15m", ms: 15 * minute },
  { name: "1h", ms: 60 * minute },
  { name: "6h", ms: 6 * 60 * minute },
  { name: "24h", ms: 24 * 60 * minute },
  { name: "7d", ms: 7 * 24 * 60 * minute },
];

/** steps are the chart resolutions offered (multiples of the server's one minute). */
export const steps: Preset[] = [
  { name: "1m", ms: minute },
  { name: "5m", ms: 5 * minute },
  { name: "15m", ms: 15 * minute },
  { name: "1h", ms: 60 * minute },
  { name: "6h", ms: 6 * 60 * minute },
  { name: "1d", ms: 24 * 60 * minute },
];

/** maxPoints is the most steps a chart asks for (the server's limit is 100,000 points in all). */
export const maxPoints = 2000;

/** windowPreset is the window named in the URL, or def. */
export function windowPreset(name: string | null, def = "1h"): Preset {
  return windows.find((w) => w.name === name) ?? windows.find((w) => w.name === def)!;
}

/**
 * windowFromTimeframe maps the Jaeger UI Monitor tab's timeframe parameter
 * (milliseconds; packages/jaeger-ui/src/components/Monitor/url.ts) to the
 * nearest window at least that long.
 */
export function windowFromTimeframe(ms: string | null): Preset | undefined {
  const n = Number(ms);
  if (!ms || !Number.isFinite(n) || n <= 0) return undefined;
  return windows.find((w) => w.ms >= n) ?? windows[windows.length - 1];
}

/** defaultStep is the step that gives a window between about 15 and 170 points. */
export function defaultStep(w: Preset): Preset {
  const name = w.ms <= 60 * minute ? "1m" : w.ms <= 6 * 60 * minute ? "5m" : w.ms <= 24 * 60 * minute ? "15m" : "1h";
  return steps.find((s) => s.name === name)!;
}

/** stepsFor are the steps that fit a window: no wider than it, at most maxPoints of them. */
export function stepsFor(w: Preset): Preset[] {
  return steps.filter((s) => s.ms <= w.ms && w.ms / s.ms <= maxPoints);
}

/** stepPreset is the step named in the URL when it fits the window, else the window's default. */
export function stepPreset(name: string | null, w: Preset): Preset {
  return stepsFor(w).find((s) => s.name === name) ?? defaultStep(w);
}

/**
 * totalStep is the step of a query for totals over window w: as wide as
 * the window, so that its p99 covers the window's calls (in at most two
 * points, as points start at multiples of the step).
 */
export function totalStep(w: Preset): number {
  return Math.max(minute, Math.round(w.ms / minute) * minute);
}

/** Slots is a window cut into steps: the i-th point starts at startMs + i*stepMs. */
export interface Slots {
  startMs: number;
  endMs: number;
  stepMs: number;
  count: number;
}

/**
 * slots is the range a chart of window w at step s shows now: it ends at the
 * end of the step now is in (so the current, partial step is shown) and
 * holds ceil(w/s) steps, each starting at a multiple of the step since the
 * epoch, as the server's RED points do.
 */
export function slots(w: Preset, s: Preset, nowMs = Date.now()): Slots {
  const endMs = Math.ceil((nowMs + 1) / s.ms) * s.ms;
  const count = Math.ceil(w.ms / s.ms);
  return { startMs: endMs - count * s.ms, endMs, stepMs: s.ms, count };
}

/**
 * lastWindow is the window w up to the end of the current minute, for the
 * dependency graph and its panel: the server rounds RED ranges down to the
 * minute, so an end of now would leave out the spans of the current one.
 */
export function lastWindow(w: Preset, nowMs = Date.now()): { startMs: number; endMs: number } {
  const endMs = Math.ceil((nowMs + 1) / minute) * minute;
  return { startMs: endMs - w.ms, endMs };
}

/**
 * searchQuery is the search page's URL parameters for traces of a service
 * (and operation) in [startMs, endMs), in the Jaeger UI's form: start and end
 * in microseconds with lookback=custom (packages/jaeger-ui/src/components/
 * SearchTracePage/SearchForm.tsx, and the Monitor tab's links in
 * Monitor/ServicesView/operationDetailsTable/index.tsx); status=error and
 * minDuration narrow it to failed or slow traces.
 */
export function searchQuery(o: {
  service: string;
  operation?: string;
  startMs: number;
  endMs: number;
  minDuration?: string;
  status?: "error";
}): Record<string, string | undefined> {
  return {
    service: o.service,
    operation: o.operation || undefined,
    start: String(Math.floor(o.startMs) * 1000),
    end: String(Math.ceil(o.endMs) * 1000),
    lookback: "custom",
    minDuration: o.minDuration,
    status: o.status,
    limit: "20",
  };
}
