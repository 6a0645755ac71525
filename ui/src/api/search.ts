// The search page's API calls: Jaeger v1's service and operation lists
// (README "Query API") and Tracer's trace summaries and attribute listings
// (query/openapi.yaml), typed as the server answers them.

import { getJSON, type Params } from "../api";

/** ServiceSummary is one service's share of a trace (openapi.yaml ServiceSummary). */
export interface ServiceSummary {
  service: string;
  spanCount: number;
  errorCount: number;
}

/** TraceSummary is one found trace (openapi.yaml TraceSummary). */
export interface TraceSummary {
  traceId: string;
  rootService: string;
  rootName: string;
  hasRoot: boolean;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  durationNano: number;
  spanCount: number;
  errorCount: number;
  services: ServiceSummary[];
}

/** SummaryQuery is what GET /api/tracer/trace-summaries takes. */
export interface SummaryQuery {
  service?: string;
  operation?: string;
  status?: "ok" | "error" | "unset";
  /** key:value pairs, each matching a span attribute or its resource's. */
  attr?: string[];
  minDuration?: string;
  maxDuration?: string;
  /** RFC 3339 or unix nanoseconds. */
  start?: string;
  end?: string;
  limit?: number;
}

/** services lists the services with stored spans, sorted (GET /api/services). */
export async function services(signal?: AbortSignal): Promise<string[]> {
  const r = await getJSON<{ data: string[] | null }>("/api/services", undefined, signal);
  return (r.data ?? []).slice().sort();
}

/** operations lists a service's span names, sorted (GET /api/services/{s}/operations). */
export async function operations(service: string, signal?: AbortSignal): Promise<string[]> {
  const r = await getJSON<{ data: string[] | null }>(
    `/api/services/${encodeURIComponent(service)}/operations`,
    undefined,
    signal,
  );
  return r.data ?? [];
}

/** traceSummaries searches traces (GET /api/tracer/trace-summaries). */
export async function traceSummaries(q: SummaryQuery, signal?: AbortSignal): Promise<TraceSummary[]> {
  const r = await getJSON<{ traces: TraceSummary[] | null }>(
    "/api/tracer/trace-summaries",
    q as Params,
    signal,
  );
  return r.traces ?? [];
}

/** attributeKeys lists span (or resource) attribute keys starting with prefix (GET /api/tracer/attributes/keys). */
export async function attributeKeys(
  q: { service?: string; prefix?: string; limit?: number; scope?: "span" | "resource" },
  signal?: AbortSignal,
): Promise<string[]> {
  const r = await getJSON<{ keys: string[] | null }>("/api/tracer/attributes/keys", q, signal);
  return r.keys ?? [];
}

/** attributeValues lists the values seen of key (GET /api/tracer/attributes/values). */
export async function attributeValues(
  q: { key: string; service?: string; prefix?: string; limit?: number; scope?: "span" | "resource" },
  signal?: AbortSignal,
): Promise<string[]> {
  const r = await getJSON<{ values: string[] | null }>("/api/tracer/attributes/values", q, signal);
  return r.values ?? [];
}
