// The dependency graph drawn in SVG from a layout (layout.ts), with pan
// (drag), zoom (wheel, +/- keys and buttons) and fit to screen. A service is
// selected by click, Enter or Space.
//
// The drawn elements document what they show for tests and tools:
//   g.dep-node  data-service: the service
//   g.dep-edge  data-parent, data-child: the services; data-calls,
//               data-errors: the counts; data-error-heavy="true" when the
//               error rate is at least errorHeavy (5%)

import { svg } from "../dom";
import { serviceColor } from "../theme";
import { errorHeavy, type Layout } from "./layout";

/** GraphView is a drawn graph. */
export interface GraphView {
  el: SVGSVGElement;
  /** fit zooms and pans so that the whole graph shows. */
  fit(): void;
  zoom(factor: number): void;
  /** select marks a service and the calls to and from it (null: none). */
  select(service: string | null): void;
  destroy(): void;
}

/** drawGraph draws l; onSelect is called with the service a viewer picks. */
export function drawGraph(l: Layout, onSelect: (service: string) => void): GraphView {
  const root = svg("svg", { class: "dep-svg", tabindex: 0, role: "group", "aria-label": "Service dependency graph: drag to pan, wheel or +/- to zoom, 0 to fit" });
  const defs = svg("defs");
  for (const [id, cls] of [["dep-arrow", "dep-arrow"], ["dep-arrow-error", "dep-arrow dep-arrow-error"]]) {
    defs.append(
      svg(
        "marker",
        { id, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse", markerUnits: "userSpaceOnUse" },
        svg("path", { d: "M0,0 L10,5 L0,10 z", class: cls }),
      ),
    );
  }
  const view = svg("g", { class: "dep-viewport" });
  root.append(defs, view);

  const maxCalls = Math.max(1, ...l.edges.map((e) => e.dep.callCount));
  const edgeEls: SVGGElement[] = [];
  for (const e of l.edges) {
    const d = e.dep;
    const heavy = d.callCount > 0 && d.errorCount / d.callCount >= errorHeavy;
    const w = 1.25 + (3 * Math.log1p(d.callCount)) / Math.log1p(maxCalls);
    const g = svg(
      "g",
      { class: heavy ? "dep-edge dep-edge-error" : "dep-edge" },
      svg("path", { d: curve(e.points), "stroke-width": w.toFixed(2), "marker-end": `url(#${heavy ? "dep-arrow-error" : "dep-arrow"})` }),
      svg("rect", { x: e.labelX - e.labelWidth / 2, y: e.labelY - 9, width: e.labelWidth, height: 18, rx: 3, class: "dep-edge-label-bg" }),
      svg("text", { x: e.labelX, y: e.labelY, "text-anchor": "middle", "dominant-baseline": "central", class: "dep-edge-label" }, e.label),
      svg("title", null, `${d.parent} → ${d.child}: ${e.label} (${d.errorCount} errors)`),
    );
    Object.assign(g.dataset, { parent: d.parent, child: d.child, calls: String(d.callCount), errors: String(d.errorCount) });
    if (heavy) g.dataset.errorHeavy = "true";
    edgeEls.push(g);
    view.append(g);
  }
  const nodeEls = new Map<string, SVGGElement>();
  for (const n of l.nodes) {
    const x = n.x - n.width / 2;
    const y = n.y - n.height / 2;
    const box = svg("rect", { x, y, width: n.width, height: n.height, rx: 6, class: "dep-node-box" });
    const bar = svg("rect", { x, y, width: 6, height: n.height, rx: 3, class: "dep-node-bar" });
    const g = svg(
      "g",
      { class: "dep-node", tabindex: 0, role: "button", "aria-label": `${n.service}: ${n.callsIn} calls in, ${n.callsOut} calls out` },
      box,
      bar,
      svg("text", { x: x + 18, y: n.y, "dominant-baseline": "central", class: "dep-node-label" }, n.service),
    );
    g.dataset.service = n.service;
    g.addEventListener("click", () => onSelect(n.service));
    g.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        onSelect(n.service);
      }
    });
    nodeEls.set(n.service, g);
    view.append(g);
  }
  const recolor = () => {
    for (const [s, g] of nodeEls) {
      const c = serviceColor(s);
      (g.children[0] as SVGElement).style.stroke = c;
      (g.children[1] as SVGElement).style.fill = c;
    }
  };
  recolor();

  // Pan and zoom: view's transform is translate(tx, ty) scale(k).
  let tx = 0;
  let ty = 0;
  let k = 1;
  let touched = false;
  const apply = () => view.setAttribute("transform", `translate(${tx.toFixed(1)},${ty.toFixed(1)}) scale(${k.toFixed(4)})`);
  const fit = () => {
    const W = root.clientWidth;
    const H = root.clientHeight;
    if (W === 0 || H === 0 || l.width === 0) return;
    k = Math.min(1.6, (0.95 * W) / l.width, (0.95 * H) / l.height);
    tx = (W - l.width * k) / 2;
    ty = (H - l.height * k) / 2;
    apply();
  };
  const zoomAt = (factor: number, px: number, py: number) => {
    const nk = Math.min(8, Math.max(0.1, k * factor));
    tx = px - ((px - tx) * nk) / k;
    ty = py - ((py - ty) * nk) / k;
    k = nk;
    touched = true;
    apply();
  };
  root.addEventListener(
    "wheel",
    (e) => {
      e.preventDefault();
      const r = root.getBoundingClientRect();
      zoomAt(Math.exp(-e.deltaY * 0.0015), e.clientX - r.left, e.clientY - r.top);
    },
    { passive: false },
  );
  let drag: { x: number; y: number; tx: number; ty: number; id: number } | null = null;
  root.addEventListener("pointerdown", (e) => {
    if (e.button !== 0 || (e.target as Element).closest(".dep-node")) return;
    drag = { x: e.clientX, y: e.clientY, tx, ty, id: e.pointerId };
    root.setPointerCapture(e.pointerId);
    root.classList.add("panning");
  });
  root.addEventListener("pointermove", (e) => {
    if (!drag || e.pointerId !== drag.id) return;
    tx = drag.tx + e.clientX - drag.x;
    ty = drag.ty + e.clientY - drag.y;
    touched = true;
    apply();
  });
  const end = (e: PointerEvent) => {
    if (!drag || e.pointerId !== drag.id) return;
    drag = null;
    root.classList.remove("panning");
  };
  root.addEventListener("pointerup", end);
  root.addEventListener("pointercancel", end);
  root.addEventListener("keydown", (e) => {
    if (e.target !== root) return;
    const W = root.clientWidth / 2;
    const H = root.clientHeight / 2;
    const pan = (dx: number, dy: number) => {
      tx += dx;
      ty += dy;
      touched = true;
      apply();
    };
    switch (e.key) {
      case "+":
      case "=":
        zoomAt(1.25, W, H);
        break;
      case "-":
        zoomAt(0.8, W, H);
        break;
      case "0":
        touched = false;
        fit();
        break;
      case "ArrowLeft":
        pan(40, 0);
        break;
      case "ArrowRight":
        pan(-40, 0);
        break;
      case "ArrowUp":
        pan(0, 40);
        break;
      case "ArrowDown":
        pan(0, -40);
        break;
      default:
        return;
    }
    e.preventDefault();
  });
  const ro = new ResizeObserver(() => {
    if (!touched) fit();
  });
  ro.observe(root);
  window.addEventListener("tracer-theme", recolor);

  return {
    el: root,
    fit() {
      touched = false;
      fit();
    },
    zoom(factor) {
      zoomAt(factor, root.clientWidth / 2, root.clientHeight / 2);
    },
    select(service) {
      for (const [s, g] of nodeEls) g.classList.toggle("selected", s === service);
      for (const g of edgeEls) {
        const on = service !== null && (g.dataset.parent === service || g.dataset.child === service);
        g.classList.toggle("related", on);
        g.classList.toggle("dimmed", service !== null && !on);
      }
      if (service !== null) nodeEls.get(service)?.setAttribute("aria-pressed", "true");
      for (const [s, g] of nodeEls) if (s !== service) g.removeAttribute("aria-pressed");
    },
    destroy() {
      ro.disconnect();
      window.removeEventListener("tracer-theme", recolor);
    },
  };
}

/** curve is an SVG path through dagre's edge points, rounded at the bends. */
function curve(p: { x: number; y: number }[]): string {
  if (p.length === 0) return "";
  let d = `M${p[0].x.toFixed(1)},${p[0].y.toFixed(1)}`;
  for (let i = 1; i < p.length - 1; i++) {
    const mx = (p[i].x + p[i + 1].x) / 2;
    const my = (p[i].y + p[i + 1].y) / 2;
    d += ` Q${p[i].x.toFixed(1)},${p[i].y.toFixed(1)} ${mx.toFixed(1)},${my.toFixed(1)}`;
  }
  const last = p[p.length - 1];
  d += ` L${last.x.toFixed(1)},${last.y.toFixed(1)}`;
  return d;
}
