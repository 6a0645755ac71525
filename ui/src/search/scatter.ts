// The duration-over-time scatter plot of the results (as the Jaeger UI's
// SearchResults/ScatterPlot.tsx shows), drawn by uPlot on a canvas: x is
// the trace's start, y its duration; error traces in the error colour.
// Hovering names the nearest trace, clicking opens it; dragging across
// the plot searches that time range.

import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { h } from "../dom";
import { formatDuration, formatTime } from "../format";
import { cssVar } from "../theme";
import type { Row } from "./results";

export interface Scatter {
  el: HTMLElement;
  show(rows: Row[]): void;
  /** counts reads the points uPlot holds: traces without and with errors. */
  counts(): { ok: number; error: number };
  /** highlight rings a trace's point (a hovered row), or none. */
  highlight(traceId: string | null): void;
  /** pointAt is where a trace's point is, in the page's client coordinates, or null. */
  pointAt(traceId: string): { x: number; y: number } | null;
  /** rebuild draws again with the theme's colours. */
  rebuild(): void;
  destroy(): void;
}

const height = 170;
const hitRadius = 12;

/**
 * scatter makes the plot; open is called with the trace id of a clicked
 * point, zoom with the time range (unix ms) dragged across.
 */
export function scatter(open: (traceId: string) => void, zoom: (fromMs: number, toMs: number) => void): Scatter {
  const tip = h("div", { class: "scatter-tip", hidden: true, role: "status" });
  const ring = h("div", { class: "scatter-ring", hidden: true });
  const el = h("div", {
    class: "scatter",
    role: "img",
    "aria-label": "Duration over time of the traces found; the list below has the same traces",
  });
  let plot: uPlot | null = null;
  let sorted: Row[] = [];
  let hovered = -1;
  let selected = false;

  function ringAt(u: uPlot, i: number): void {
    ring.style.left = `${u.over.offsetLeft + u.valToPos(u.data[0][i], "x")}px`;
    ring.style.top = `${u.over.offsetTop + u.valToPos(sorted[i].s.durationNano / 1e6, "y")}px`;
    ring.hidden = false;
  }

  function data(): uPlot.AlignedData {
    const xs = new Array<number>(sorted.length);
    const ok = new Array<number | null>(sorted.length);
    const err = new Array<number | null>(sorted.length);
    sorted.forEach((r, i) => {
      xs[i] = r.startMs / 1000;
      const ms = r.s.durationNano / 1e6;
      ok[i] = r.s.errorCount ? null : ms;
      err[i] = r.s.errorCount ? ms : null;
    });
    return [xs, ok, err];
  }

  function points(color: string, size: number): uPlot.Series {
    return {
      stroke: color,
      fill: color,
      paths: () => null,
      points: { show: true, size, stroke: color, fill: color, width: 1 },
    };
  }

  function hover(u: uPlot): void {
    const cx = u.cursor.left ?? -1;
    const cy = u.cursor.top ?? -1;
    let best = -1;
    let bestD = hitRadius * hitRadius;
    if (cx >= 0) {
      for (let i = 0; i < sorted.length; i++) {
        const y = (u.data[1][i] ?? u.data[2][i]) as number | null;
        if (y === null || y === undefined) continue;
        const dx = u.valToPos(u.data[0][i], "x") - cx;
        const dy = u.valToPos(y, "y") - cy;
        const d = dx * dx + dy * dy;
        if (d <= bestD) {
          bestD = d;
          best = i;
        }
      }
    }
    hovered = best;
    if (best < 0) {
      tip.hidden = true;
      ring.hidden = true;
      u.over.style.cursor = "";
      return;
    }
    const r = sorted[best];
    const px = u.valToPos(u.data[0][best], "x");
    const py = u.valToPos(r.s.durationNano / 1e6, "y");
    tip.textContent = `${r.s.rootService}: ${r.s.rootName} · ${formatDuration(r.s.durationNano)} · ${r.s.spanCount} spans${
      r.s.errorCount ? ` · ${r.s.errorCount} errors` : ""
    } · ${formatTime(r.startMs)}`;
    tip.hidden = false;
    ringAt(u, best);
    const left = u.over.offsetLeft;
    const top = u.over.offsetTop;
    const flip = px > u.over.clientWidth / 2;
    tip.style.left = flip ? "" : `${left + px + 10}px`;
    tip.style.right = flip ? `${el.clientWidth - left - px + 10}px` : "";
    tip.style.top = `${Math.max(0, top + py - 28)}px`;
    u.over.style.cursor = "pointer";
  }

  function build(): void {
    plot?.destroy();
    const fg = cssVar("--fg-muted");
    const grid = cssVar("--border");
    const axis = (values: uPlot.Axis["values"]): uPlot.Axis => ({
      stroke: fg,
      grid: { stroke: grid, width: 1 },
      ticks: { stroke: grid, width: 1 },
      values,
    });
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      legend: { show: false },
      cursor: {
        drag: { x: true, y: false, setScale: false },
        points: { show: false },
        x: false,
        y: false,
      },
      scales: {
        x: {
          time: true,
          // Padded, so that no point sits on the plot's edge.
          range: (_u, min, max) => {
            const pad = min === max ? 30 : (max - min) * 0.03;
            return [min - pad, max + pad];
          },
        },
        y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
      },
      axes: [
        axis(undefined),
        { ...axis((_u, splits) => splits.map((v) => formatDuration(v * 1e6))), size: 64 },
      ],
      series: [{}, points(cssVar("--accent"), 6), points(cssVar("--error"), 7)],
      hooks: {
        setCursor: [hover],
        setSelect: [
          (u) => {
            if (u.select.width < 4) return;
            const from = u.posToVal(u.select.left, "x") * 1000;
            const to = u.posToVal(u.select.left + u.select.width, "x") * 1000;
            selected = true; // the click that ends the drag opens nothing
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            zoom(Math.floor(from), Math.ceil(to));
          },
        ],
      },
    };
    plot = new uPlot(opts, data(), el);
    plot.over.addEventListener("click", () => {
      if (selected) selected = false;
      else if (hovered >= 0) open(sorted[hovered].s.traceId);
    });
    plot.over.addEventListener("mousedown", () => (selected = false));
    plot.over.addEventListener("mouseleave", () => {
      tip.hidden = true;
      ring.hidden = true;
      hovered = -1;
    });
    el.append(ring, tip);
  }

  const ro = new ResizeObserver(() => {
    if (plot && el.clientWidth && Math.abs(plot.width - el.clientWidth) > 1)
      plot.setSize({ width: el.clientWidth, height });
  });
  ro.observe(el);

  return {
    el,
    show(rows) {
      sorted = rows.slice().sort((a, b) => a.startMs - b.startMs);
      hovered = -1;
      tip.hidden = true;
      ring.hidden = true;
      if (!plot) build();
      else plot.setData(data());
    },
    counts() {
      const count = (s: uPlot.AlignedData[number] | undefined) =>
        s ? (s as (number | null | undefined)[]).filter((v) => v !== null && v !== undefined).length : 0;
      return { ok: count(plot?.data[1]), error: count(plot?.data[2]) };
    },
    highlight(traceId) {
      const i = traceId ? sorted.findIndex((r) => r.s.traceId === traceId) : -1;
      if (!plot || i < 0) ring.hidden = true;
      else ringAt(plot, i);
    },
    pointAt(traceId) {
      const i = sorted.findIndex((r) => r.s.traceId === traceId);
      if (!plot || i < 0) return null;
      const box = plot.over.getBoundingClientRect();
      return {
        x: box.left + plot.valToPos(plot.data[0][i], "x"),
        y: box.top + plot.valToPos(sorted[i].s.durationNano / 1e6, "y"),
      };
    },
    rebuild() {
      if (plot) build();
    },
    destroy() {
      ro.disconnect();
      plot?.destroy();
      plot = null;
    },
  };
}
