// The per-trace statistics, per service and operation: pure, no DOM, so the
// numbers can be checked apart from the table that shows them.

import type { Trace } from "../model/trace";
import { selfTimes } from "./selftime";

/** StatRow is one (service, operation) of a trace. */
export interface StatRow {
  service: string;
  operation: string;
  count: number;
  errors: number;
  /** Sum of the spans' durations, ns. */
  totalNs: number;
  /** Sum of the spans' self times (see selfTimes), ns. */
  selfNs: number;
  avgNs: number;
  maxNs: number;
}

/** statRows aggregates trace's spans by service and operation, in order of first appearance. */
export function statRows(trace: Trace, self: Float64Array = selfTimes(trace)): StatRow[] {
  const rows: StatRow[] = [];
  const byKey = new Map<string, StatRow>();
  for (const s of trace.spans) {
    const key = s.service + "\u0000" + s.name;
    let r = byKey.get(key);
    if (!r) {
      r = { service: s.service, operation: s.name, count: 0, errors: 0, totalNs: 0, selfNs: 0, avgNs: 0, maxNs: 0 };
      byKey.set(key, r);
      rows.push(r);
    }
    r.count++;
    if (s.status === "error") r.errors++;
    r.totalNs += s.durationNs;
    r.selfNs += self[s.index];
    if (s.durationNs > r.maxNs) r.maxNs = s.durationNs;
  }
  for (const r of rows) r.avgNs = r.totalNs / r.count;
  return rows;
}
