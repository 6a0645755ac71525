// Find in trace: spans whose name, service, span id or an attribute value
// (or "key=value") contains the query, case-insensitively.

import type { Span, Trace } from "../model/trace";

function matches(s: Span, q: string, key: string | null, value: string): boolean {
  if (s.name.toLowerCase().includes(q) || s.service.toLowerCase().includes(q) || s.spanId.startsWith(q)) return true;
  for (const a of s.wire.attributes) {
    if (key !== null && a.key.toLowerCase() === key && a.value.toLowerCase() === value) return true;
    if (a.value.toLowerCase().includes(q)) return true;
  }
  return false;
}

/** find returns the indexes of the spans matching query, in display order; an empty query matches none. */
export function find(trace: Trace, query: string): number[] {
  const q = query.trim().toLowerCase();
  if (!q) return [];
  const eq = q.indexOf("=");
  const key = eq > 0 ? q.slice(0, eq).trim() : null;
  const value = eq > 0 ? q.slice(eq + 1).trim() : "";
  const out: number[] = [];
  for (const s of trace.spans) if (matches(s, q, key, value)) out.push(s.index);
  return out;
}
