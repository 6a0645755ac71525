// The trace model every trace page shares (trace view, compare, statistics):
// Tracer's GET /api/tracer/traces/{id} (query/openapi.yaml, schema Trace)
// parsed once into spans with numeric times relative to the trace's start,
// and the span tree built iteratively (no recursion: a 100,000-span chain
// must not overflow the stack).

import { getJSON } from "../api";

// --- The wire format (query/openapi.yaml) ---

export interface WireAttribute {
  key: string;
  /** Absent for a string. */
  type?: "bool" | "int" | "double" | "bytes" | "array" | "map";
  value: string;
}

export interface WireEvent {
  timeUnixNano: string;
  name: string;
  attributes: WireAttribute[];
}

export interface WireLink {
  traceId: string;
  spanId: string;
  traceState?: string;
  attributes: WireAttribute[];
}

export type WireClock =
  | "none"
  | "invalid"
  | {
      node: string;
      tick: number;
      start: Record<string, number>;
      end: Record<string, number>;
      startPruned?: boolean;
      endPruned?: boolean;
    };

export type SpanKind = "unspecified" | "internal" | "server" | "client" | "producer" | "consumer";
export type SpanStatus = "unset" | "ok" | "error";

export interface WireSpan {
  spanId: string;
  parentSpanId?: string;
  name: string;
  service: string;
  kind: SpanKind;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  durationNano: number;
  status: SpanStatus;
  statusMessage?: string;
  traceState?: string;
  flags?: number;
  resource: number;
  resourceAttributes?: WireAttribute[];
  scope?: { name: string; version: string };
  attributes: WireAttribute[];
  events?: WireEvent[];
  links?: WireLink[];
  droppedAttributesCount?: number;
  droppedEventsCount?: number;
  droppedLinksCount?: number;
  clock: WireClock;
  clockError?: string;
}

export interface WireTrace {
  traceId: string;
  spans: WireSpan[];
  spanCount: number;
  truncated: boolean;
  error?: { code: number; message: string; requestId: string };
}

// --- The model ---

export interface Span {
  /** The span's index in Trace.spans (its order: by start, then depth-first). */
  index: number;
  spanId: string;
  /** The parent's id as stored; "" for a root. */
  parentSpanId: string;
  /** The parent's index, or -1 for a root or a span whose parent is not in the trace. */
  parent: number;
  /** Indexes of the children, by start time. */
  children: number[];
  /** Depth in the tree: 0 for roots (and orphans). */
  depth: number;
  name: string;
  service: string;
  kind: SpanKind;
  /** Start, nanoseconds after the trace's start (exact: numbers hold 104 days of ns). */
  startNs: number;
  durationNs: number;
  status: SpanStatus;
  statusMessage: string;
  /** The raw span, for details (attributes, events, links, clock, resource). */
  wire: WireSpan;
}

export interface Trace {
  traceId: string;
  /** Spans in display order: depth-first, children by start time; index = position. */
  spans: Span[];
  byId: Map<string, Span>;
  /** Indexes of the root spans (no parent, or a parent that is not stored), by start. */
  roots: number[];
  /** The trace's start, unix nanoseconds as a decimal string (exact) and as ms (for display). */
  startUnixNano: string;
  startMs: number;
  /** From the first start to the last end, in nanoseconds. */
  durationNs: number;
  /** Services in order of first appearance in display order. */
  services: string[];
  /** Resources by index (wire `resource`), attributes from the first span that carried them. */
  resources: WireAttribute[][];
  truncated: boolean;
  /** Set when the server ended the answer early with an error. */
  error?: string;
}

/** loadTrace fetches and builds a trace. */
export async function loadTrace(id: string, signal?: AbortSignal): Promise<Trace> {
  const wire = await getJSON<WireTrace>(`/api/tracer/traces/${encodeURIComponent(id)}`, undefined, signal);
  return buildTrace(wire);
}

/** bigSub returns a - b for decimal-string nanosecond times, as a number (exact below 2^53). */
export function bigSub(a: string, b: string): number {
  return relNano(a, splitNano(b));
}

// Unix-nanosecond strings are split into seconds and nanoseconds, each exact
// as a number, so that a span's offset from the trace's start is exact
// without a BigInt per span (BigInts made building a 100,000-span trace
// several times slower, mostly in the garbage collector).
type SplitNano = [seconds: number, nanos: number];

function splitNano(s: string): SplitNano {
  const cut = s.length - 9;
  return cut > 0 ? [Number(s.slice(0, cut)), Number(s.slice(cut))] : [0, Number(s)];
}

function relNano(s: string, origin: SplitNano): number {
  const cut = s.length - 9;
  const sec = cut > 0 ? Number(s.slice(0, cut)) : 0;
  const ns = cut > 0 ? Number(s.slice(cut)) : Number(s);
  return (sec - origin[0]) * 1e9 + (ns - origin[1]);
}

/** nanoLess orders decimal-string unix-nanosecond times (no leading zeros). */
function nanoLess(a: string, b: string): boolean {
  return a.length !== b.length ? a.length < b.length : a < b;
}

/** buildTrace turns the wire trace into the model, in O(n log n), without recursion. */
export function buildTrace(wire: WireTrace): Trace {
  const ws = wire.spans;
  // The earliest start is the trace's origin; offsets from it are exact.
  let originText = ws.length ? ws[0].startTimeUnixNano : "0";
  for (const s of ws) if (nanoLess(s.startTimeUnixNano, originText)) originText = s.startTimeUnixNano;
  const origin = splitNano(originText);
  const resources: WireAttribute[][] = [];
  const tmp: Span[] = ws.map((w) => {
    if (w.resourceAttributes && resources[w.resource] === undefined) resources[w.resource] = w.resourceAttributes;
    return {
      index: -1,
      spanId: w.spanId,
      parentSpanId: w.parentSpanId ?? "",
      parent: -1,
      children: [],
      depth: 0,
      name: w.name,
      service: w.service,
      kind: w.kind,
      startNs: relNano(w.startTimeUnixNano, origin),
      durationNs: w.durationNano,
      status: w.status,
      statusMessage: w.statusMessage ?? "",
      wire: w,
    };
  });
  // A duplicated span id keeps its first copy (storage returns each span once).
  const byId = new Map<string, Span>();
  const unique: Span[] = [];
  for (const s of tmp) {
    if (!byId.has(s.spanId)) {
      byId.set(s.spanId, s);
      unique.push(s);
    }
  }
  unique.sort((a, b) => a.startNs - b.startNs || a.spanId.localeCompare(b.spanId));
  const kids = new Map<Span, Span[]>();
  const roots: Span[] = [];
  for (const s of unique) {
    const p = s.parentSpanId ? byId.get(s.parentSpanId) : undefined;
    if (p && p !== s) {
      let list = kids.get(p);
      if (!list) kids.set(p, (list = []));
      list.push(s);
    } else roots.push(s);
  }
  // A parent cycle (bad data) leaves spans unreachable from the roots: they
  // become roots too, so every span is shown once.
  const spans: Span[] = [];
  const visit = (root: Span) => {
    const stack: Span[] = [root];
    root.depth = 0;
    while (stack.length) {
      const s = stack.pop()!;
      if (s.index >= 0) continue;
      s.index = spans.length;
      spans.push(s);
      const list = kids.get(s);
      if (!list) continue;
      for (let i = list.length - 1; i >= 0; i--) {
        const c = list[i];
        if (c.index >= 0) continue;
        c.depth = s.depth + 1;
        stack.push(c);
      }
    }
  };
  for (const r of roots) visit(r);
  for (const s of unique) if (s.index < 0) visit(s);
  let endNs = 0;
  const services: string[] = [];
  const seen = new Set<string>();
  for (const s of spans) {
    const p = s.parentSpanId ? byId.get(s.parentSpanId) : undefined;
    if (p && p !== s && p.index < s.index) {
      s.parent = p.index;
      p.children.push(s.index);
    } else s.parent = -1;
    endNs = Math.max(endNs, s.startNs + s.durationNs);
    if (!seen.has(s.service)) {
      seen.add(s.service);
      services.push(s.service);
    }
  }
  for (const s of spans) if (s.parent < 0) s.depth = 0;
  const startUnixNano = originText;
  return {
    traceId: wire.traceId,
    spans,
    byId,
    roots: spans.filter((s) => s.parent < 0).map((s) => s.index),
    startUnixNano,
    startMs: origin[0] * 1e3 + origin[1] / 1e6,
    durationNs: endNs,
    services,
    resources,
    truncated: wire.truncated,
    error: wire.error?.message,
  };
}

/** attr returns a span attribute's value (canonical string form), or undefined. */
export function attr(s: Span, key: string): string | undefined {
  for (const a of s.wire.attributes) if (a.key === key) return a.value;
  return undefined;
}
