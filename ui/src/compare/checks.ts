// Checks of the compare page's and the trace views' pure computations (self
// time, the flame layout, the statistics, the diff) on hand-built traces and
// on 100,000-span traces (a chain as deep as it is long, a fan-out, a random
// tree) that recursion would overflow. Built for Node by e2e's
// TestUIComparePure (vite build --ssr) and run there; a failed check throws.
// It prints how long each large case took, as information, not a limit.

import "./nodom";
import { buildTrace, type Trace, type WireSpan } from "../model/trace";
import { selfTimes } from "../views/selftime";
import { statRows } from "../views/statsdata";
import { flameLayout, firstFrom } from "../views/flamelayout";
import { diffTraces, type TraceDiff } from "./diff";

type Row = [id: string, parent: string, service: string, name: string, startMs: number, endMs: number, error?: boolean];

const base = 1_700_000_000_000_000_000n;

function wireSpan(id: string, parent: string, service: string, name: string, startNs: number, endNs: number, error = false): WireSpan {
  return {
    spanId: id,
    parentSpanId: parent || undefined,
    name,
    service,
    kind: "internal",
    startTimeUnixNano: String(base + BigInt(startNs)),
    endTimeUnixNano: String(base + BigInt(endNs)),
    durationNano: endNs - startNs,
    status: error ? "error" : "unset",
    resource: 0,
    attributes: [],
    clock: "none",
  };
}

function trace(id: string, rows: Row[]): Trace {
  const spans = rows.map(([sid, p, svc, name, s, e, err]) => wireSpan(sid, p, svc, name, s * 1e6, e * 1e6, err));
  return buildTrace({ traceId: id, spans, spanCount: spans.length, truncated: false });
}

let failures = 0;
let checks = 0;
function check(name: string, got: unknown, want: unknown): void {
  checks++;
  const g = JSON.stringify(got);
  const w = JSON.stringify(want);
  if (g !== w) {
    failures++;
    console.log(`FAIL ${name}: got ${g}, want ${w}`);
  }
}

const ms = (n: number) => n * 1e6;

function sorted(o: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).sort(([x], [y]) => x.localeCompare(y)));
}

function selfById(t: Trace): Record<string, number> {
  const self = selfTimes(t);
  return Object.fromEntries(t.spans.map((s) => [s.spanId, self[s.index]]));
}

// --- self time ---
{
  const t = trace("t", [
    ["r", "", "svc", "root", 0, 100],
    ["a", "r", "svc", "a", 10, 30],
    ["b", "r", "svc", "b", 20, 50], // overlaps a: the union is 10-50
    ["c", "r", "svc", "c", 60, 70],
    ["d", "r", "svc", "d", 95, 130], // runs past the parent: 95-100 counts
    ["e", "c", "svc", "e", 60, 70], // covers all of c
    ["f", "a", "svc", "f", 0, 5], // before its parent: covers nothing of it
  ]);
  check("self times", sorted(selfById(t)), { a: ms(20), b: ms(30), c: 0, d: ms(35), e: ms(10), f: ms(5), r: ms(100 - 40 - 10 - 5) });
  const parallel = trace("p", [
    ["r", "", "s", "root", 0, 10],
    ["x", "r", "s", "x", 0, 10],
    ["y", "r", "s", "y", 0, 10],
    ["z", "r", "s", "z", 2, 3],
  ]);
  check("parallel children cover once", selfById(parallel).r, 0);
}

// --- statistics ---
{
  const t = trace("t", [
    ["r", "", "front", "GET /", 0, 100],
    ["a1", "r", "auth", "check", 0, 10],
    ["a2", "r", "auth", "check", 20, 50, true],
    ["db", "a2", "db", "query", 25, 35],
  ]);
  const rows = statRows(t).map((r) => [r.service, r.operation, r.count, r.errors, r.totalNs, r.selfNs, r.avgNs, r.maxNs]);
  check("stat rows", rows, [
    ["front", "GET /", 1, 0, ms(100), ms(60), ms(100), ms(100)],
    ["auth", "check", 2, 1, ms(40), ms(30), ms(20), ms(30)],
    ["db", "query", 1, 0, ms(10), ms(10), ms(10), ms(10)],
  ]);
}

// --- flame layout ---
{
  const t = trace("t", [
    ["r", "", "s", "root", 0, 100],
    ["b", "r", "s", "b", 50, 60],
    ["a", "r", "s", "a", 10, 20],
    ["c", "b", "s", "c", 55, 56],
  ]);
  const l = flameLayout(t);
  const names = Array.from({ length: l.depths }, (_, d) =>
    Array.from(l.order.subarray(l.rowStart[d], l.rowStart[d + 1]), (i) => t.spans[i].name),
  );
  check("flame rows by depth and start", names, [["root"], ["a", "b"], ["c"]]);
  check("flame max duration per depth", Array.from(l.maxDur), [ms(100), ms(10), ms(1)]);
  check("first span at or after 30ms in depth 1", l.order[firstFrom(t, l, 1, ms(30))], t.byId.get("b")!.index);
}

// --- diff ---
function changes(d: TraceDiff): string[] {
  return d.order
    .map((id) => d.nodes[id])
    .filter((n) => n.change !== "same" || n.countDelta !== 0)
    .map((n) => `${n.change} ${n.service} ${n.operation}${n.countDelta && n.a.count && n.b.count ? ` ${n.countDelta > 0 ? "+" : ""}${n.countDelta}` : ""}`);
}
{
  // The e2e test's traces (TestUICompare): B adds charge, misses notify, and db.query is 200ms slower.
  const a = trace("a", [
    ["r", "", "frontend", "GET /checkout", 0, 100],
    ["au1", "r", "auth", "authorize", 5, 15],
    ["au2", "r", "auth", "authorize", 16, 19],
    ["re", "r", "inventory", "reserve", 20, 60],
    ["db", "re", "inventory", "db.query", 25, 45],
    ["ca", "re", "inventory", "cache.get", 40, 55],
    ["no", "r", "email", "notify", 70, 80, true],
  ]);
  const b = trace("b", [
    ["r", "", "frontend", "GET /checkout", 0, 305],
    ["au1", "r", "auth", "authorize", 5, 15],
    ["au2", "r", "auth", "authorize", 16, 19],
    ["re", "r", "inventory", "reserve", 20, 260],
    ["db", "re", "inventory", "db.query", 25, 245],
    ["ca", "re", "inventory", "cache.get", 240, 255],
    ["ch", "r", "payment", "charge", 265, 280],
  ]);
  const d = diffTraces(a, b);
  check("diff changes", changes(d), ["slower inventory db.query", "missing email notify", "added payment charge"]);
  check("diff summary", d.summary, { added: 1, missing: 1, slower: 1, faster: 0, recounted: 0 });
  const db = d.nodes.find((n) => n.operation === "db.query")!;
  check("db.query deltas", [db.selfDelta, db.totalDelta, db.a.count, db.b.count], [ms(200), ms(200), 1, 1]);
  check("totals", [d.a.durationNs, d.b.durationNs, d.a.spans, d.a.errors, d.b.errors], [ms(100), ms(305), 7, 1, 0]);
  check("paths in depth-first order", d.order.map((id) => d.nodes[id].operation), [
    "GET /checkout", "authorize", "reserve", "db.query", "cache.get", "notify", "charge",
  ]);
  const ancestors = d.order.map((id) => d.nodes[id]).filter((n) => n.changedBelow).map((n) => n.operation);
  check("changed paths and the paths to them", ancestors, ["GET /checkout", "reserve", "db.query", "notify", "charge"]);
  check("groups", d.groups.filter((g) => g.change !== "same").map((g) => `${g.change} ${g.operation}`), [
    "slower db.query", "missing notify", "added charge",
  ]);
  const back = diffTraces(b, a);
  check("swapped", changes(back), ["faster inventory db.query", "added email notify", "missing payment charge"]);
  check("a trace against itself", changes(diffTraces(a, a)), []);
}
{
  // Matched by path, not by name alone: the same operation under another
  // parent is another path; a leaf in A that has a child in B stays matched.
  const a = trace("a", [
    ["r", "", "f", "root", 0, 100],
    ["x", "r", "f", "x", 0, 50],
    ["q", "x", "db", "query", 0, 10],
  ]);
  const b = trace("b", [
    ["r", "", "f", "root", 0, 120],
    ["x", "r", "f", "x", 0, 60],
    ["q", "x", "db", "query", 0, 10],
    ["io", "q", "db", "io", 5, 5.5],
    ["q2", "x", "db", "query", 20, 30],
    ["y", "r", "f", "y", 70, 80],
    ["q3", "y", "db", "query", 70, 80],
  ]);
  const d = diffTraces(a, b);
  check("paths", changes(d), ["slower db query +1", "added db io", "added f y", "added db query"]);
  check("recounted", d.summary.recounted, 1);
  const g = d.groups.find((g) => g.operation === "query")!;
  check("group over paths", [g.a.count, g.b.count], [1, 3]);
}

// --- 100,000 spans: no recursion, n log n ---
function big(kind: "chain" | "wide" | "random", n: number, seed: number, slow = 1): Trace {
  const spans: WireSpan[] = [];
  let x = seed;
  const rnd = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32);
  for (let i = 0; i < n; i++) {
    const parent = i === 0 ? "" : kind === "chain" ? `s${i - 1}` : kind === "wide" ? "s0" : `s${Math.floor(rnd() * i)}`;
    const start = kind === "chain" ? i * 10 : i === 0 ? 0 : 1000 + i;
    const dur = kind === "chain" ? (n - i) * 20 : i === 0 ? n * 10 : 500 * (i % 7 === 0 ? slow : 1);
    spans.push(wireSpan(`s${i}`, parent, `svc${i % 13}`, `op${i % 97}`, start, start + dur, i % 101 === 0));
  }
  return buildTrace({ traceId: kind, spans, spanCount: n, truncated: false });
}
const n = 100_000;
for (const kind of ["chain", "wide", "random"] as const) {
  const a = big(kind, n, 1);
  const b = big(kind, n, 1, 3);
  const t0 = performance.now();
  const self = selfTimes(a);
  const t1 = performance.now();
  const layout = flameLayout(a);
  const t2 = performance.now();
  const rows = statRows(a, self);
  const t3 = performance.now();
  const d = diffTraces(a, b);
  const t4 = performance.now();
  check(`${kind}: flame rows hold every span`, layout.order.length, n);
  check(`${kind}: stat rows count every span`, rows.reduce((s, r) => s + r.count, 0), n);
  check(`${kind}: diff paths hold every span of A`, d.nodes.reduce((s, p) => s + p.a.count, 0), n);
  if (kind === "chain") {
    check("chain: depth", layout.depths, n);
    check("chain: a span's self time is what its child leaves", self[0], 20);
  }
  if (kind === "wide") {
    // The root and one path per (service, operation): 13 x 97 combinations.
    check("wide: paths", d.nodes.length, 1 + 13 * 97);
    check("wide: nothing added or missing", [d.summary.added, d.summary.missing], [0, 0]);
  }
  console.log(
    `${kind} ${n} spans: selfTimes ${(t1 - t0).toFixed(0)}ms, flameLayout ${(t2 - t1).toFixed(0)}ms, ` +
      `statRows ${(t3 - t2).toFixed(0)}ms, diffTraces ${(t4 - t3).toFixed(0)}ms (${d.nodes.length} paths, ${d.summary.slower} slower)`,
  );
}

console.log(`${checks} checks, ${failures} failed`);
if (failures) throw new Error(`${failures} of ${checks} checks failed`);
