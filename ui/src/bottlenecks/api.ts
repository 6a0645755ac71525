// The bottlenecks page's API calls: GET /api/tracer/bottlenecks (the
// critical paths of many traces, aggregated per operation) and a trace's
// critical path (to link an example to the span), typed as
// query/openapi.yaml describes them.

import { getJSON } from "../api";

/** BottleneckExample is one trace where an operation was on the path (openapi.yaml BottleneckExample). */
export interface BottleneckExample {
  traceId: string;
  timeNano: number;
  latencyNano: number;
}

/** Bottleneck is one operation's part in the critical paths (openapi.yaml Bottleneck). */
export interface Bottleneck {
  service: string;
  operation: string;
  totalNano: number;
  perTraceNano: number;
  share: number;
  traceCount: number;
  maxNano: number;
  examples: BottleneckExample[];
}

/** Bottlenecks is the answer of /api/tracer/bottlenecks. */
export interface Bottlenecks {
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  limit: number;
  tracesFound: number;
  tracesAnalysed: number;
  tracesSkipped: number;
  tracesTruncated: number;
  latencyNano: number;
  gapNano: number;
  operations: Bottleneck[];
}

/** BottleneckQuery is what the page asks: a service, the root operation, a range (ms) and a trace limit. */
export interface BottleneckQuery {
  service: string;
  operation?: string;
  startMs: number;
  endMs: number;
  limit: number;
}

/** bottlenecks reads the aggregated critical paths. */
export async function bottlenecks(q: BottleneckQuery, signal?: AbortSignal): Promise<Bottlenecks> {
  const a = await getJSON<Bottlenecks>(
    "/api/tracer/bottlenecks",
    {
      service: q.service,
      operation: q.operation,
      start: new Date(q.startMs).toISOString(),
      end: new Date(q.endMs).toISOString(),
      limit: q.limit,
    },
    signal,
  );
  a.operations = a.operations ?? [];
  for (const o of a.operations) o.examples = o.examples ?? [];
  return a;
}

interface CriticalSpan {
  spanId: string;
  service: string;
  name: string;
  contributionNano: number;
}

/**
 * pathSpan is the span of service and operation with the most time on the
 * critical path of trace id (the API lists them the most first), or null.
 */
export async function pathSpan(id: string, service: string, operation: string, signal?: AbortSignal): Promise<string | null> {
  const a = await getJSON<{ spans: CriticalSpan[] | null }>(`/api/tracer/traces/${encodeURIComponent(id)}/critical-path`, undefined, signal);
  const s = (a.spans ?? []).find((x) => x.service === service && x.name === operation && x.contributionNano > 0);
  return s ? s.spanId : null;
}
