// The critical path hook. The analysis API that computes it (issue 14) does
// not exist yet, so there is nothing to highlight: criticalPath returns null
// and the timeline draws no critical-path marks. When the route exists, fetch
// it here (through api.ts) and return a mask over trace.spans (1 = on the
// path); the timeline and its legend already take one.

import type { Trace } from "../model/trace";

/** criticalPath returns the spans on the trace's critical path, or null while no analysis API serves it. */
export async function criticalPath(trace: Trace, signal?: AbortSignal): Promise<Uint8Array | null> {
  void trace;
  void signal;
  return null;
}
