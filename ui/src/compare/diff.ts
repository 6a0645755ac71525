// The structural diff of two traces of the same operation, as the Jaeger UI's
// TraceDiff does (followed: jaeger-ui packages/jaeger-ui/src/model/trace-dag/
// TraceDag.ts, newFromTrace and diff, with the node ids of id-factories.ts
// ancestralPathParentOrLeaf): every span is put in a node named by its path
// of (service, operation) from its root, the spans of a path being the
// node's members; the two traces' nodes are matched by that path. Unlike the
// Jaeger UI, which compares only the number of members, this compares their
// durations too (slower, faster, by how much), and it does not split a path
// into leaf and non-leaf nodes (a span that gains a child in B stays
// matched), nor apply its denseTransforms.ts heuristics (folding a client
// span into its server child, peer.service renames): spans are compared as
// stored. A path is slower or faster by its self time (time not in its
// children), so a slow span is named and its ancestors, longer only because
// of it, are not; their total durations are still shown. Pure, no DOM,
// iterative: O(n) to build the nodes plus the sorts of siblings, O(n log n)
// in all.

import type { Span, Trace } from "../model/trace";
import { selfTimes } from "../views/selftime";

/** Side is what one trace has at a node (or in a group). */
export interface Side {
  count: number;
  errors: number;
  /** Sum of the members' durations, ns. */
  totalNs: number;
  /** Sum of the members' self times, ns. */
  selfNs: number;
  /** The first member's span index in its trace, or -1. */
  first: number;
  /** The earliest member's start, ns after its trace's start. */
  startNs: number;
}

export type Change = "added" | "missing" | "slower" | "faster" | "same";

/** Compared is a node or group seen in both traces, and how it changed. */
export interface Compared {
  service: string;
  operation: string;
  a: Side;
  b: Side;
  /** added: only in B; missing: only in A; slower/faster: self time changed by more than the threshold. */
  change: Change;
  /** b.count - a.count. */
  countDelta: number;
  /** b.selfNs - a.selfNs. */
  selfDelta: number;
  /** b.totalNs - a.totalNs. */
  totalDelta: number;
}

/** PathNode is one path of (service, operation) from a root. */
export interface PathNode extends Compared {
  id: number;
  /** The parent path's id, or -1 at a root. */
  parent: number;
  depth: number;
  children: number[];
  /** Whether this node or a node below it changed (change !== "same" or countDelta !== 0). */
  changedBelow: boolean;
}

/** Totals are one trace's figures for the header. */
export interface Totals {
  traceId: string;
  spans: number;
  errors: number;
  services: number;
  durationNs: number;
  startMs: number;
  rootService: string;
  rootOperation: string;
}

export interface TraceDiff {
  a: Totals;
  b: Totals;
  /** The path nodes, indexed by id (a parent's id is below its children's). */
  nodes: PathNode[];
  /** The node ids depth-first: a parent before its children, siblings by start. */
  order: number[];
  /** Per (service, operation), over all paths, in order of first appearance. */
  groups: Compared[];
  /** Paths only in B, only in A, slower, faster, and with a different number of spans. */
  summary: { added: number; missing: number; slower: number; faster: number; recounted: number };
  /** The smallest self-time change counted as slower or faster, ns. */
  thresholdNs: number;
}

/** DiffOptions tune what counts as slower or faster. */
export interface DiffOptions {
  /** A change must be at least this fraction of the larger self time (default 0.1). */
  relative?: number;
  /** ...and at least this fraction of the longer trace (default 0.01). */
  ofTrace?: number;
}

function side(): Side {
  return { count: 0, errors: 0, totalNs: 0, selfNs: 0, first: -1, startNs: Infinity };
}

function compared(service: string, operation: string): Compared {
  return { service, operation, a: side(), b: side(), change: "same", countDelta: 0, selfDelta: 0, totalDelta: 0 };
}

function totals(t: Trace): Totals {
  let errors = 0;
  for (const s of t.spans) if (s.status === "error") errors++;
  const root = t.roots.length ? t.spans[t.roots[0]] : undefined;
  return {
    traceId: t.traceId,
    spans: t.spans.length,
    errors,
    services: t.services.length,
    durationNs: t.durationNs,
    startMs: t.startMs,
    rootService: root?.service ?? "",
    rootOperation: root?.name ?? "",
  };
}

function classify(c: Compared, thresholdNs: number, relative: number): void {
  c.countDelta = c.b.count - c.a.count;
  c.selfDelta = c.b.selfNs - c.a.selfNs;
  c.totalDelta = c.b.totalNs - c.a.totalNs;
  if (c.a.count === 0) c.change = "added";
  else if (c.b.count === 0) c.change = "missing";
  else {
    const d = Math.abs(c.selfDelta);
    const significant = d >= thresholdNs && d >= relative * Math.max(c.a.selfNs, c.b.selfNs) && d > 0;
    c.change = !significant ? "same" : c.selfDelta > 0 ? "slower" : "faster";
  }
}

/** diffTraces compares trace b with trace a (the baseline). */
export function diffTraces(a: Trace, b: Trace, opts: DiffOptions = {}): TraceDiff {
  const relative = opts.relative ?? 0.1;
  const ofTrace = opts.ofTrace ?? 0.01;
  const thresholdNs = Math.max(1000, ofTrace * Math.max(a.durationNs, b.durationNs));
  const nodes: PathNode[] = [];
  const groups: Compared[] = [];
  // (service, operation) is interned once per span into a group id; a path's
  // key is then a number, its parent's node id and its group id, so the one
  // map lookup per span allocates nothing.
  const groupIds = new Map<string, Map<string, number>>();
  const ids = new Map<number, number>();
  const width = a.spans.length + b.spans.length + 1;

  const bump = (sd: Side, s: Span, selfNs: number) => {
    sd.count++;
    if (s.status === "error") sd.errors++;
    sd.totalNs += s.durationNs;
    sd.selfNs += selfNs;
    if (sd.first < 0) sd.first = s.index;
    if (s.startNs < sd.startNs) sd.startNs = s.startNs;
  };

  const add = (t: Trace, which: "a" | "b") => {
    const self = selfTimes(t);
    const nodeOf = new Int32Array(t.spans.length);
    // Spans are in display order: a parent comes before its children.
    for (const s of t.spans) {
      let byName = groupIds.get(s.service);
      if (!byName) groupIds.set(s.service, (byName = new Map()));
      let g = byName.get(s.name);
      if (g === undefined) {
        g = groups.length;
        byName.set(s.name, g);
        groups.push(compared(s.service, s.name));
      }
      const parent = s.parent >= 0 ? nodeOf[s.parent] : -1;
      const key = (parent + 1) * width + g;
      let id = ids.get(key);
      if (id === undefined) {
        id = nodes.length;
        ids.set(key, id);
        // An explicit literal: spreading compared() here is V8's slow path (seconds at 100,000 paths).
        nodes.push({
          service: s.service,
          operation: s.name,
          a: side(),
          b: side(),
          change: "same",
          countDelta: 0,
          selfDelta: 0,
          totalDelta: 0,
          id,
          parent,
          depth: parent >= 0 ? nodes[parent].depth + 1 : 0,
          children: [],
          changedBelow: false,
        });
        if (parent >= 0) nodes[parent].children.push(id);
      }
      nodeOf[s.index] = id;
      bump(nodes[id][which], s, self[s.index]);
      bump(groups[g][which], s, self[s.index]);
    }
  };
  add(a, "a");
  add(b, "b");

  const summary = { added: 0, missing: 0, slower: 0, faster: 0, recounted: 0 };
  for (const n of nodes) {
    classify(n, thresholdNs, relative);
    if (n.change !== "same") summary[n.change]++;
    if (n.a.count && n.b.count && n.countDelta) summary.recounted++;
    n.changedBelow = n.change !== "same" || n.countDelta !== 0;
  }
  for (const g of groups) classify(g, thresholdNs, relative);
  // A node's id is larger than its parent's, so one backward pass carries
  // "changed below" up the tree.
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    if (n.changedBelow && n.parent >= 0) nodes[n.parent].changedBelow = true;
  }

  // Depth-first order, siblings by their earliest start (A's, else B's).
  const startOf = (n: PathNode) => (n.a.count ? n.a.startNs : n.b.startNs);
  const byStart = (x: number, y: number) => startOf(nodes[x]) - startOf(nodes[y]) || x - y;
  const roots: number[] = [];
  for (const n of nodes) {
    if (n.parent < 0) roots.push(n.id);
    n.children.sort(byStart);
  }
  roots.sort(byStart);
  const order: number[] = [];
  const stack = roots.reverse();
  while (stack.length) {
    const n = nodes[stack.pop()!];
    order.push(n.id);
    for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]);
  }
  return { a: totals(a), b: totals(b), nodes, order, groups, summary, thresholdNs };
}
