// The typed API calls of the dependency graph and the dashboards: Tracer's
// /api/tracer/dependencies and /api/tracer/red (query/openapi.yaml), and the
// Jaeger v1 service and operation listings (README "Query API").

import { getJSON } from "../api";

/** Dependency is one edge of the service graph (openapi.yaml Dependency). */
export interface Dependency {
  parent: string;
  child: string;
  callCount: number;
  errorCount: number;
}

interface DependenciesAnswer {
  dependencies: Dependency[];
}

/** TimeRange is a query's [start, end), in ms since the epoch. */
export interface TimeRange {
  startMs: number;
  endMs: number;
}

function rfc3339(ms: number): string {
  return new Date(ms).toISOString();
}

/** dependencies reads the service graph's edges over a time range. */
export async function dependencies(r: TimeRange, signal?: AbortSignal): Promise<Dependency[]> {
  const a = await getJSON<DependenciesAnswer>(
    "/api/tracer/dependencies",
    { start: rfc3339(r.startMs), end: rfc3339(r.endMs) },
    signal,
  );
  return a.dependencies ?? [];
}

/** REDPoint is one step of a RED series (openapi.yaml REDPoint). */
export interface REDPoint {
  timeUnixNano: string;
  requests: number;
  errors: number;
  requestRate: number;
  errorRate: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
}

/** REDSeries is the points of a service, or of a service and operation. */
export interface REDSeries {
  service: string;
  operation?: string;
  points: REDPoint[];
}

/** RED is the answer of /api/tracer/red. */
export interface RED {
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  stepNano: number;
  series: REDSeries[];
}

/** REDQuery is the parameters of /api/tracer/red. */
export interface REDQuery extends TimeRange {
  services?: string[];
  operation?: string;
  kinds?: string[];
  groupByOperation?: boolean;
  /** stepMs is a multiple of one minute (the server's resolution). */
  stepMs: number;
}

/** red reads RED series. Steps without spans are absent from the answer. */
export function red(q: REDQuery, signal?: AbortSignal): Promise<RED> {
  return getJSON<RED>(
    "/api/tracer/red",
    {
      service: q.services,
      operation: q.operation,
      kind: q.kinds,
      groupByOperation: q.groupByOperation || undefined,
      step: `${Math.round(q.stepMs / 60000)}m`,
      start: rfc3339(q.startMs),
      end: rfc3339(q.endMs),
    },
    signal,
  );
}

interface JaegerEnvelope<T> {
  data: T | null;
}

/** services lists the stored services, sorted: the search page's call. */
export { services } from "./search";

/** Operation is a span name of a service and its kind. */
export interface Operation {
  name: string;
  spanKind: string;
}

/** operations lists a service's operations (Jaeger v1 GET /api/operations?service=), sorted by name. */
export async function operations(service: string, signal?: AbortSignal): Promise<Operation[]> {
  const a = await getJSON<JaegerEnvelope<Operation[]>>("/api/operations", { service }, signal);
  return (a.data ?? []).slice().sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
}
