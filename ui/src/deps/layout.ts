// The dependency graph's layout: services as boxes and calls as edges,
// placed left to right by dagre (callers left of callees).

import dagre from "@dagrejs/dagre";
import type { Dependency } from "../api/metrics";

/** errorHeavy is the error rate from which an edge is marked. */
export const errorHeavy = 0.05;

/** NodeBox is a service placed on the graph: its centre and size. */
export interface NodeBox {
  service: string;
  x: number;
  y: number;
  width: number;
  height: number;
  callsIn: number;
  callsOut: number;
}

/** EdgePath is a dependency placed on the graph: its route and its label's centre. */
export interface EdgePath {
  dep: Dependency;
  points: { x: number; y: number }[];
  label: string;
  labelWidth: number;
  labelX: number;
  labelY: number;
}

/** Layout is the placed graph and its size. */
export interface Layout {
  nodes: NodeBox[];
  edges: EdgePath[];
  width: number;
  height: number;
}

const nodeHeight = 34;
const font = "13px system-ui, sans-serif";
const labelFont = "600 12px system-ui, sans-serif"; // error-heavy labels are bold

let measureCtx: CanvasRenderingContext2D | null = null;

function textWidth(text: string, f: string): number {
  measureCtx ??= document.createElement("canvas").getContext("2d");
  if (!measureCtx) return text.length * 7.5;
  measureCtx.font = f;
  return measureCtx.measureText(text).width;
}

/** edgeLabel is the text on an edge: its calls, and its error rate when it had errors. */
export function edgeLabel(d: Dependency): string {
  const calls = `${d.callCount.toLocaleString()} ${d.callCount === 1 ? "call" : "calls"}`;
  if (d.errorCount <= 0 || d.callCount <= 0) return calls;
  const pct = (d.errorCount / d.callCount) * 100;
  return `${calls} · ${pct >= 10 ? pct.toFixed(0) : pct.toFixed(1)}% err`;
}

/** layout places the services and calls of deps. */
export function layout(deps: Dependency[]): Layout {
  const g = new dagre.graphlib.Graph({ multigraph: false });
  g.setGraph({ rankdir: "LR", nodesep: 28, ranksep: 110, edgesep: 16, marginx: 24, marginy: 24 });
  g.setDefaultEdgeLabel(() => ({}));
  const calls = new Map<string, { in: number; out: number }>();
  const count = (s: string) => {
    let c = calls.get(s);
    if (!c) calls.set(s, (c = { in: 0, out: 0 }));
    return c;
  };
  for (const d of deps) {
    count(d.parent).out += d.callCount;
    count(d.child).in += d.callCount;
  }
  for (const s of [...calls.keys()].sort()) g.setNode(s, { width: Math.max(72, textWidth(s, font) + 34), height: nodeHeight });
  for (const d of deps) {
    const label = edgeLabel(d);
    g.setEdge(d.parent, d.child, { width: textWidth(label, labelFont) + 8, height: 16, labelpos: "c", dep: d, text: label });
  }
  dagre.layout(g);
  const nodes: NodeBox[] = g.nodes().map((s: string) => {
    const n = g.node(s);
    const c = calls.get(s)!;
    return { service: s, x: n.x ?? 0, y: n.y ?? 0, width: n.width, height: n.height, callsIn: c.in, callsOut: c.out };
  });
  const edges: EdgePath[] = g.edges().map((e) => {
    const l = g.edge(e);
    return {
      dep: l.dep as Dependency,
      points: l.points ?? [],
      label: l.text as string,
      labelWidth: l.width ?? 0,
      labelX: l.x ?? 0,
      labelY: l.y ?? 0,
    };
  });
  const gl = g.graph();
  return { nodes, edges, width: gl.width ?? 0, height: gl.height ?? 0 };
}
