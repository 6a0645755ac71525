// The critical path of a trace, from Tracer's analysis API
// (GET /api/tracer/traces/{id}/critical-path, analysis.CriticalPath): the
// chain of spans that determines the trace's end-to-end latency. The
// timeline marks the spans on it (a mask over trace.spans, 1 = on the path)
// and shows its legend.

import { getJSON } from "../api";
import type { Trace } from "../model/trace";

interface CriticalPathAnswer {
  spans: { spanId: string; contributionNano: number }[];
}

/** criticalPath returns the spans on the trace's critical path, or null when the API cannot say. */
export async function criticalPath(trace: Trace, signal?: AbortSignal): Promise<Uint8Array | null> {
  let ans: CriticalPathAnswer;
  try {
    ans = await getJSON<CriticalPathAnswer>(`/api/tracer/traces/${encodeURIComponent(trace.traceId)}/critical-path`, undefined, signal);
  } catch {
    return null; // the timeline is complete without it
  }
  const mask = new Uint8Array(trace.spans.length);
  let any = false;
  for (const s of ans.spans ?? []) {
    const span = trace.byId.get(s.spanId);
    if (span && s.contributionNano > 0) {
      mask[span.index] = 1;
      any = true;
    }
  }
  return any ? mask : null;
}
