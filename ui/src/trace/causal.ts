// The causal relation of the selected span to every other span, from
// Tracer's analysis API (GET /api/tracer/traces/{id}/causal?span=&all=true,
// analysis.Causal): one place, the Go analysis, decides happened-before
// (from the vector clocks and the trace's structure), and the trace view
// only shows it. The answer is one character per span in ascending span id
// order; the ids come once per trace (ids=true) and are kept while the
// answer's digest stays the same, so a selection on a 100,000-span trace
// moves 200 kB, not the ids again. The result is flat arrays indexed like
// trace.spans, read by the timeline as it draws.

import { getJSON } from "../api";
import type { Trace } from "../model/trace";

/** Relation codes in CausalView.rel (0: the answer did not cover the span). */
export const REL_NONE = 0;
export const REL_BEFORE = 1;
export const REL_AFTER = 2;
export const REL_CONCURRENT = 3;
export const REL_UNKNOWN = 4;
export const REL_SELF = 5;

/** RelName names the relations the legend and the rows show. */
export type RelName = "before" | "after" | "concurrent" | "unknown";
export const relNames: readonly RelName[] = ["before", "after", "concurrent", "unknown"];
/** relClass is each code's row class ("" for none and self). */
export const relClass = ["", " rel-before", " rel-after", " rel-concurrent", " rel-unknown", ""] as const;
/** relData is each code's name, as rows carry it in data-rel ("" for none and self). */
export const relData = ["", "before", "after", "concurrent", "unknown", ""] as const;

/**
 * reasonText explains each reason code of the API (query/openapi.yaml,
 * CausalResponse.reasons).
 */
export const reasonText: Record<string, string> = {
  k: "clock",
  s: "structure",
  m: "clock and structure",
  n: "missing clock",
  p: "pruned clock",
  o: "the clocks leave it open",
  x: "conflict (bad data)",
  q: "partly concurrent",
  "-": "",
};

/** CausalView is the relation of span `span` to the others. */
export interface CausalView {
  span: number;
  /** Per span index: a REL_* code. */
  rel: Uint8Array;
  /** Per span index: the reason's character code (0: none). */
  reason: Uint8Array;
  /** Spans per code. */
  counts: Int32Array;
  /** The API read fewer spans than are stored. */
  truncated: boolean;
}

interface CausalAnswer {
  spanCount: number;
  truncated: boolean;
  relations: string;
  reasons: string;
  digest: string;
  spanIds?: string[];
}

const codeOf: Record<string, number> = { b: REL_BEFORE, a: REL_AFTER, c: REL_CONCURRENT, u: REL_UNKNOWN, "=": REL_SELF };

/** Causal fetches the relations of one selected span at a time. */
export class Causal {
  /** The answer's positions mapped to span indexes (-1: not a span of the model). */
  private map: Int32Array | null = null;
  private digest = "";
  private ctl: AbortController | null = null;

  constructor(private readonly trace: Trace) {}

  /** cancel aborts the request in flight, if any. */
  cancel(): void {
    this.ctl?.abort();
    this.ctl = null;
  }

  /**
   * of fetches span i's relations, cancelling the previous request:
   * undefined when cancelled (a newer selection), null when the API cannot
   * say (the view then shows no shading).
   */
  async of(i: number): Promise<CausalView | null | undefined> {
    this.cancel();
    const ctl = (this.ctl = new AbortController());
    const path = `/api/tracer/traces/${encodeURIComponent(this.trace.traceId)}/causal`;
    const span = this.trace.spans[i].spanId;
    try {
      let ans = await getJSON<CausalAnswer>(path, { span, all: true, ids: this.map ? undefined : true }, ctl.signal);
      if (this.map && ans.digest !== this.digest) {
        // The stored trace changed since the ids came: take them again.
        this.map = null;
        ans = await getJSON<CausalAnswer>(path, { span, all: true, ids: true }, ctl.signal);
      }
      if (ctl.signal.aborted) return undefined;
      if (ans.spanIds) this.setIds(ans.spanIds, ans.digest);
      if (!this.map) return null;
      return this.view(i, ans);
    } catch {
      return ctl.signal.aborted ? undefined : null;
    } finally {
      if (this.ctl === ctl) this.ctl = null;
    }
  }

  private setIds(ids: string[], digest: string): void {
    const m = new Int32Array(ids.length);
    for (let k = 0; k < ids.length; k++) m[k] = this.trace.byId.get(ids[k])?.index ?? -1;
    this.map = m;
    this.digest = digest;
  }

  private view(i: number, ans: CausalAnswer): CausalView | null {
    const map = this.map!;
    const n = this.trace.spans.length;
    if (ans.relations.length !== map.length || ans.reasons.length !== map.length) return null;
    const rel = new Uint8Array(n);
    const reason = new Uint8Array(n);
    const counts = new Int32Array(relClass.length);
    for (let k = 0; k < map.length; k++) {
      const j = map[k];
      if (j < 0) continue;
      rel[j] = codeOf[ans.relations[k]] ?? REL_NONE;
      reason[j] = ans.reasons.charCodeAt(k);
    }
    for (let j = 0; j < n; j++) counts[rel[j]]++;
    return { span: i, rel, reason, counts, truncated: ans.truncated };
  }
}

/** reasonOf is the text of span j's reason in v. */
export function reasonOf(v: CausalView, j: number): string {
  return v.reason[j] ? (reasonText[String.fromCharCode(v.reason[j])] ?? "") : "not in the analysis";
}
