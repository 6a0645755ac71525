// What an anomaly says in words: what moved, where, since when and how far
// from normal, from the API's fields (query/openapi.yaml Anomaly; the
// scores are analysis/anomaly.go's robust units).

import { formatCount, formatDuration } from "../format";
import type { Anomaly, Kind } from "./api";

/** groupTitles name each kind's group on the page. */
export const groupTitles: Record<Kind, string> = {
  latency: "Latency outliers",
  errors: "Error-rate spikes",
  "new-edge": "New calls",
  "gone-edge": "Disappeared calls",
  "fan-out": "Fan-out changes",
  "error-path": "Newly on error paths",
};

/** groupHelp says in a line how each kind is found. */
export const groupHelp: Record<Kind, string> = {
  latency: "p95 latency of an operation at least 4 robust deviations (MAD) from the baseline's median, 3 steps in a row",
  errors: "error rate 4 binomial deviations and 1 point above the baseline's, 3 steps in a row",
  "new-edge": "calls the baseline did not have (services from the service graph, operations from sampled traces)",
  "gone-edge": "calls of the baseline that no longer happen",
  "fan-out": "the median number of child calls per parent span moved",
  "error-path": "an operation's spans fail, or have a failed descendant, more often",
};

/** spread is the size of one unit of the score in the value's unit: |current − baseline| / |score|. */
export function spread(a: Anomaly): number | null {
  if (!Number.isFinite(a.score) || Math.abs(a.score) < 1e-9 || Math.abs(a.score) > 1e12) return null;
  return Math.abs(a.current - a.baseline) / Math.abs(a.score);
}

/** formatScore shows a score in the kind's standard deviations, signed. */
export function formatScore(s: number): string {
  if (Math.abs(s) >= 1e6) return `${s > 0 ? "+" : "−"}>10⁶σ`;
  const v = Math.abs(s) >= 100 ? Math.abs(s).toFixed(0) : Math.abs(s).toFixed(1);
  return `${s >= 0 ? "+" : "−"}${v}σ`;
}

function pct(r: number): string {
  const p = r * 100;
  if (p === 0) return "0%";
  if (Math.abs(p) < 0.1) return `${p.toFixed(3)}%`;
  return `${Math.abs(p) >= 10 ? p.toFixed(1) : p.toFixed(2)}%`;
}

function num(v: number): string {
  if (Number.isInteger(v)) return formatCount(v);
  return Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/** value shows a value in the anomaly's unit. */
export function value(a: Anomaly, v: number): string {
  switch (a.unit) {
    case "ns":
      return formatDuration(v);
    case "ratio":
      return pct(v);
    default:
      return num(v);
  }
}

/** what is the anomaly's headline. */
export function what(a: Anomaly): string {
  const up = a.current >= a.baseline;
  switch (a.kind) {
    case "latency": {
      const f = a.baseline > 0 ? a.current / a.baseline : 0;
      const by = f > 0 ? (up ? ` ×${f.toFixed(f >= 10 ? 0 : 1)}` : ` to ${Math.round(f * 100)}%`) : "";
      return `p95 latency ${up ? "up" : "down"}${by}`;
    }
    case "errors":
      return "Error rate up";
    case "new-edge":
      return a.edge?.parentOperation ? "New call between operations" : "New call between services";
    case "gone-edge":
      return a.edge?.parentOperation ? "Call between operations stopped" : "Call between services stopped";
    case "fan-out":
      return `Fan-out ${up ? "up" : "down"}`;
    case "error-path":
      return "More often on error paths";
  }
  return a.kind;
}

/** where names the operation, or the call of an edge. */
export function where(a: Anomaly): string {
  const op = (s: string, o?: string) => (o ? `${s} · ${o}` : s);
  if (a.edge) return `${op(a.edge.parentService, a.edge.parentOperation)} → ${op(a.edge.childService, a.edge.childOperation)}`;
  return op(a.service, a.operation);
}

/** far says how far from normal: the observed value against the baseline and its spread, and what it rests on. */
export function far(a: Anomaly): string {
  const sp = spread(a);
  const pm = sp !== null && a.kind !== "new-edge" ? ` ± ${value(a, sp)}` : "";
  const base = `${value(a, a.baseline)}${pm}`;
  switch (a.kind) {
    case "latency":
      return `p95 ${value(a, a.current)} vs baseline ${base}, over ${formatCount(a.count)} calls`;
    case "errors":
      return `${value(a, a.current)} errors vs baseline ${base}, over ${formatCount(a.count)} calls`;
    case "new-edge":
      return a.edge?.parentOperation
        ? `${num(a.current)} parent spans make the call; none did in the baseline`
        : `${num(a.current)} calls; none in the baseline`;
    case "gone-edge":
      return a.edge?.parentOperation
        ? `no calls from ${formatCount(a.count)} parent spans vs ${num(a.baseline)} expected from the baseline`
        : `${num(a.current)} calls vs ${base} expected from the baseline`;
    case "fan-out":
      return `${num(a.current)} children per parent span vs baseline ${base}, over ${formatCount(a.count)} parent spans`;
    case "error-path":
      return `${value(a, a.current)} of its spans on error paths vs baseline ${base}, over ${formatCount(a.count)} spans`;
  }
  return `${value(a, a.current)} vs baseline ${base}`;
}
