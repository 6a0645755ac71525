// The anomalies page's API call: GET /api/tracer/anomalies (the current
// window against a baseline before it), typed as query/openapi.yaml
// describes it.

import { getJSON } from "../api";

/** kinds are the anomaly kinds, in the order the page groups them. */
export const kinds = ["latency", "errors", "new-edge", "gone-edge", "fan-out", "error-path"] as const;

export type Kind = (typeof kinds)[number];

/** CallEdge is the call of an edge anomaly; operations are absent for service-level edges. */
export interface CallEdge {
  parentService: string;
  parentOperation?: string;
  childService: string;
  childOperation?: string;
}

/** Anomaly is one departure from the baseline (openapi.yaml Anomaly). */
export interface Anomaly {
  kind: Kind;
  service: string;
  operation?: string;
  edge?: CallEdge;
  sinceUnixNano: string;
  lastUnixNano: string;
  score: number;
  baseline: number;
  current: number;
  unit: "ns" | "ratio" | "calls" | "children";
  count: number;
  examples: string[];
}

/** Anomalies is the answer of /api/tracer/anomalies. */
export interface Anomalies {
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  baselineStartTimeUnixNano: string;
  stepNano: number;
  anomalies: Anomaly[];
}

/** AnomalyQuery is what the page asks. */
export interface AnomalyQuery {
  startMs: number;
  endMs: number;
  /** baseline, step: durations as the API takes them ("6h", "1m"). */
  baseline: string;
  step: string;
  days: number;
  service?: string;
}

/** anomalies reads the anomalies of a window. */
export async function anomalies(q: AnomalyQuery, signal?: AbortSignal): Promise<Anomalies> {
  const a = await getJSON<Anomalies>(
    "/api/tracer/anomalies",
    {
      start: new Date(q.startMs).toISOString(),
      end: new Date(q.endMs).toISOString(),
      baseline: q.baseline,
      step: q.step,
      days: q.days || undefined,
      service: q.service,
    },
    signal,
  );
  a.anomalies = a.anomalies ?? [];
  for (const x of a.anomalies) x.examples = x.examples ?? [];
  return a;
}
