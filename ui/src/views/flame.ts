// The flame graph of one trace: spans as bars on one canvas, time across and
// depth down (root on top, as the Jaeger UI's and Grafana's trace flame
// graphs), so each bar is one span and a click can select it. Nothing in the
// DOM per span: the layout is flat arrays built once per trace (spans of each
// depth sorted by start), each frame draws only the rows and the time range
// in view, and bars narrower than a pixel share one pixel column.
//
// Controls: click a bar to zoom to it (and select it), click the background
// or press Escape or 0 to see the whole trace; hover for details; ctrl/cmd +
// wheel zooms around the pointer, shift + wheel pans; with the canvas
// focused, arrow keys walk the tree (up: parent, down: first child,
// left/right: siblings) and Enter zooms to the selected span.

import "./flame.css";
import { h, append, clear } from "../dom";
import { formatDuration } from "../format";
import type { Cleanup } from "../router";
import type { Span, Trace } from "../model/trace";
import { cssVar, serviceColor } from "../theme";
import { firstFrom, flameLayout } from "./flamelayout";
import { selfTimes } from "./selftime";

export interface FlameOptions {
  /** Called when the viewer picks a span (click, keyboard). */
  onSelect(span: Span): void;
  /** The span shown as selected, by index. */
  selected?: number;
}

const rowH = 20;

/** renderFlame draws trace as a flame graph into el (one canvas; no DOM node per span). */
export function renderFlame(el: HTMLElement, trace: Trace, opts: FlameOptions): Cleanup {
  const spans = trace.spans;
  const layout = flameLayout(trace);
  const self = selfTimes(trace);
  const total = Math.max(1, trace.durationNs);
  let t0 = 0;
  let t1 = total;
  let selected = opts.selected ?? -1;
  let hover = -1;

  const canvas = h("canvas", {
    class: "flame-canvas",
    tabindex: "0",
    role: "img",
    "aria-label":
      `Flame graph of ${spans.length} spans. Click a bar to zoom to it, Escape for the whole trace; ` +
      "arrow keys move between spans, Enter zooms to the selected one.",
  });
  const tip = h("div", { class: "flame-tip", role: "tooltip", hidden: true });
  const spacer = h("div", { class: "flame-spacer" });
  const scroller = h("div", { class: "flame-scroll" }, canvas, spacer);
  const range = h("span", { class: "flame-range", role: "status" });
  const reset = h("button", { type: "button", class: "flame-reset", onclick: () => zoom(0, total) }, "Whole trace");
  const wrap = h(
    "div",
    { class: "flame" },
    h("div", { class: "flame-bar" }, reset, range, h("span", { class: "flame-hint" }, "click: zoom · Esc: whole trace · ctrl+wheel: zoom · shift+wheel: pan")),
    h("div", { class: "flame-view" }, scroller, tip),
  );
  el.append(wrap);
  const fullH = layout.depths * rowH;
  scroller.style.height = `${fullH}px`;
  canvas.dataset.spans = String(spans.length);

  let width = 0;
  let height = 0;
  let colors = new Map<string, string>();
  let theme = { fg: "", muted: "", bg: "", error: "", accent: "", grid: "" };
  const readTheme = () => {
    colors = new Map();
    theme = {
      fg: cssVar("--fg"),
      muted: cssVar("--fg-muted"),
      bg: cssVar("--bg"),
      error: cssVar("--error"),
      accent: cssVar("--accent"),
      grid: cssVar("--border"),
    };
  };
  readTheme();
  const color = (service: string) => {
    let c = colors.get(service);
    if (!c) colors.set(service, (c = serviceColor(service)));
    return c;
  };

  let frame = 0;
  const redraw = () => {
    if (!frame) frame = requestAnimationFrame(draw);
  };

  function resize(): void {
    const dpr = window.devicePixelRatio || 1;
    width = scroller.clientWidth;
    height = Math.max(rowH, Math.min(scroller.clientHeight, fullH));
    // The canvas stays in view (sticky); the spacer makes the rest of the rows' height scrollable.
    spacer.style.height = `${Math.max(0, fullH - height)}px`;
    canvas.width = Math.max(1, Math.round(width * dpr));
    canvas.height = Math.max(1, Math.round(height * dpr));
    canvas.style.width = `${width}px`;
    canvas.style.height = `${height}px`;
    canvas.getContext("2d")?.setTransform(dpr, 0, 0, dpr, 0, 0);
    // Resizing cleared the canvas: draw now, so that it never shows (or
    // reports in its dataset) a view it no longer holds.
    if (frame) cancelAnimationFrame(frame);
    draw();
  }

  function draw(): void {
    frame = 0;
    const ctx = canvas.getContext("2d");
    if (!ctx || !width) return;
    ctx.clearRect(0, 0, width, height);
    ctx.font = `12px ${cssVar("--font") || "sans-serif"}`;
    ctx.textBaseline = "middle";
    const charW = ctx.measureText("abcdefghijklmnopqrstuvwxyz").width / 26 || 7;
    const scale = width / (t1 - t0);
    const top = scroller.scrollTop;
    const first = Math.floor(top / rowH);
    const last = Math.min(layout.depths - 1, Math.floor((top + height) / rowH));
    let selBox: [number, number, number] | null = null;
    let hoverBox: [number, number, number] | null = null;
    for (let d = first; d <= last; d++) {
      const y = d * rowH - top;
      let lastPx = -1;
      const endK = layout.rowStart[d + 1];
      for (let k = firstFrom(trace, layout, d, t0 - layout.maxDur[d]); k < endK; k++) {
        const i = layout.order[k];
        const s = spans[i];
        if (s.startNs > t1) break;
        const end = s.startNs + s.durationNs;
        if (end < t0) continue;
        const x0 = Math.max(0, (s.startNs - t0) * scale);
        const x1 = Math.min(width, (end - t0) * scale);
        const w = x1 - x0;
        if (i === selected) selBox = [x0, y, Math.max(w, 1)];
        if (i === hover) hoverBox = [x0, y, Math.max(w, 1)];
        if (w < 1) {
          // Bars under a pixel: one per pixel column.
          const px = Math.floor(x0);
          if (px === lastPx) continue;
          lastPx = px;
          ctx.fillStyle = s.status === "error" ? theme.error : color(s.service);
          ctx.fillRect(px, y, 1, rowH - 1);
          continue;
        }
        lastPx = Math.floor(x1);
        ctx.fillStyle = color(s.service);
        ctx.fillRect(x0, y, Math.max(1, w - 1), rowH - 1);
        const failed = s.status === "error";
        if (failed) {
          // An error is outlined and its label marked, whatever its service's colour.
          ctx.strokeStyle = theme.error;
          ctx.lineWidth = 2;
          ctx.strokeRect(x0 + 1, y + 1, Math.max(1, w - 3), rowH - 3);
        }
        if (w > 24) {
          const room = Math.floor((w - 8) / charW);
          let label = `${failed ? "⚠ " : ""}${s.name} ${formatDuration(s.durationNs)}`;
          if (label.length > room) label = room > 2 ? label.slice(0, room - 1) + "…" : "";
          if (label) {
            ctx.fillStyle = theme.bg;
            ctx.fillText(label, x0 + 5, y + rowH / 2);
          }
        }
      }
    }
    ctx.lineWidth = 2;
    if (hoverBox) {
      ctx.strokeStyle = theme.fg;
      ctx.strokeRect(hoverBox[0] + 1, hoverBox[1] + 1, Math.max(1, hoverBox[2] - 2), rowH - 3);
    }
    if (selBox) {
      ctx.strokeStyle = theme.accent;
      ctx.lineWidth = 3;
      ctx.strokeRect(selBox[0] + 1.5, selBox[1] + 1.5, Math.max(1, selBox[2] - 3), rowH - 4);
    }
    range.textContent =
      t0 <= 0 && t1 >= total
        ? `Whole trace: ${formatDuration(total)}`
        : `${formatDuration(t0)} – ${formatDuration(t1)} of ${formatDuration(total)}`;
    reset.disabled = t0 <= 0 && t1 >= total;
    canvas.dataset.t0 = String(t0);
    canvas.dataset.t1 = String(t1);
    canvas.dataset.selected = String(selected);
  }

  /** at returns the span under a point of the canvas, or -1. */
  function at(x: number, y: number): number {
    const d = Math.floor((y + scroller.scrollTop) / rowH);
    if (d < 0 || d >= layout.depths) return -1;
    const scale = width / (t1 - t0);
    const t = t0 + x / scale;
    const slack = 2 / scale; // a pixel or two, for the thinnest bars
    let best = -1;
    let bestDist = Infinity;
    const endK = layout.rowStart[d + 1];
    for (let k = firstFrom(trace, layout, d, t - slack - layout.maxDur[d]); k < endK; k++) {
      const s = spans[layout.order[k]];
      if (s.startNs > t + slack) break;
      const end = s.startNs + s.durationNs;
      const dist = t < s.startNs ? s.startNs - t : t > end ? t - end : 0;
      if (dist <= slack && dist <= bestDist) {
        best = layout.order[k];
        bestDist = dist;
      }
    }
    return best;
  }

  function zoom(a: number, b: number): void {
    if (b - a < 1) {
      const mid = (a + b) / 2;
      a = mid - 0.5;
      b = mid + 0.5;
    }
    t0 = Math.max(0, a);
    t1 = Math.min(total, b);
    if (t1 <= t0) [t0, t1] = [0, total];
    redraw();
  }

  function select(i: number, zoomTo: boolean): void {
    if (i < 0) return;
    selected = i;
    const s = spans[i];
    if (zoomTo) zoom(s.startNs, s.startNs + Math.max(s.durationNs, 1));
    else if (s.startNs + s.durationNs < t0 || s.startNs > t1) zoom(s.startNs, s.startNs + Math.max(s.durationNs, 1));
    // Keep the selected row in view.
    const y = s.depth * rowH;
    if (y < scroller.scrollTop) scroller.scrollTop = y;
    else if (y + rowH > scroller.scrollTop + height) scroller.scrollTop = y + rowH - height;
    redraw();
    opts.onSelect(s);
  }

  function showTip(i: number, x: number, y: number): void {
    if (i < 0) {
      tip.hidden = true;
      return;
    }
    const s = spans[i];
    clear(tip);
    append(
      tip,
      h("div", { class: "flame-tip-name" }, h("span", { class: "flame-dot", style: { background: color(s.service) } }), s.service, " · ", h("strong", null, s.name)),
      h("div", null, `Duration ${formatDuration(s.durationNs)} (${((s.durationNs / total) * 100).toFixed(1)}% of the trace)`),
      h("div", null, `Self time ${formatDuration(self[i])}`),
      h("div", null, `Starts at +${formatDuration(s.startNs)}`),
      s.status === "error" ? h("div", { class: "flame-tip-error" }, `Error${s.statusMessage ? ": " + s.statusMessage : ""}`) : null,
    );
    tip.hidden = false;
    const left = Math.min(x + 14, Math.max(0, width - tip.offsetWidth - 4));
    tip.style.left = `${left}px`;
    tip.style.top = `${y + 16}px`;
  }

  const point = (e: MouseEvent) => {
    const r = canvas.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top] as const;
  };
  canvas.addEventListener("mousemove", (e) => {
    const [x, y] = point(e);
    const i = at(x, y);
    if (i !== hover) {
      hover = i;
      redraw();
    }
    canvas.style.cursor = i >= 0 ? "pointer" : "default";
    showTip(i, x, y);
  });
  canvas.addEventListener("mouseleave", () => {
    hover = -1;
    tip.hidden = true;
    redraw();
  });
  canvas.addEventListener("click", (e) => {
    const [x, y] = point(e);
    const i = at(x, y);
    if (i < 0) zoom(0, total);
    else select(i, true);
  });
  canvas.addEventListener(
    "wheel",
    (e) => {
      if (!(e.ctrlKey || e.metaKey || e.shiftKey)) return; // plain wheel scrolls the rows
      e.preventDefault();
      const [x] = point(e);
      const span = t1 - t0;
      if (e.shiftKey && !(e.ctrlKey || e.metaKey)) {
        const dt = ((e.deltaY || e.deltaX) / width) * span;
        const a = Math.min(Math.max(0, t0 + dt), total - span);
        zoom(a, a + span);
        return;
      }
      const at = t0 + (x / width) * span;
      const f = Math.exp(e.deltaY * 0.002);
      zoom(at - (at - t0) * f, at + (t1 - at) * f);
    },
    { passive: false },
  );
  canvas.addEventListener("keydown", (e) => {
    const s = selected >= 0 ? spans[selected] : undefined;
    let next = -1;
    switch (e.key) {
      case "Escape":
      case "0":
        zoom(0, total);
        e.preventDefault();
        return;
      case "Enter":
        if (s) select(s.index, true);
        e.preventDefault();
        return;
      case "ArrowUp":
        next = s ? s.parent : (trace.roots[0] ?? -1);
        break;
      case "ArrowDown":
        next = s ? (s.children[0] ?? -1) : (trace.roots[0] ?? -1);
        break;
      case "ArrowLeft":
      case "ArrowRight": {
        if (!s) {
          next = trace.roots[0] ?? -1;
          break;
        }
        const sibs = s.parent >= 0 ? spans[s.parent].children : trace.roots;
        const k = sibs.indexOf(s.index) + (e.key === "ArrowLeft" ? -1 : 1);
        next = sibs[k] ?? -1;
        break;
      }
      default:
        return;
    }
    e.preventDefault();
    if (next >= 0) select(next, false);
  });
  scroller.addEventListener("scroll", () => {
    tip.hidden = true;
    redraw();
  });

  const ro = new ResizeObserver(resize);
  ro.observe(scroller);
  const onTheme = () => {
    readTheme();
    redraw();
  };
  window.addEventListener("tracer-theme", onTheme);
  resize();
  // The span selected elsewhere (the timeline) is in view from the start.
  if (selected >= 0 && selected < spans.length) {
    const y = spans[selected].depth * rowH;
    if (y + rowH > scroller.scrollTop + height) scroller.scrollTop = Math.max(0, y - height / 2);
  }

  return () => {
    ro.disconnect();
    window.removeEventListener("tracer-theme", onTheme);
    if (frame) cancelAnimationFrame(frame);
    wrap.remove();
  };
}
