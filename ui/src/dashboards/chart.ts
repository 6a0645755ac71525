// One time-series chart of a dashboard, drawn by uPlot on a canvas: a step
// without calls is a gap (null), times on the axis are in the viewer's zone
// (named under the axis), the chart follows its container's width and the
// theme, and a click (or Enter on the focused chart) picks a step. Each
// point is drawn at the middle of its step, so a click anywhere in a step's
// column picks that step.
//
// The chart element documents what it shows for tests and tools:
//   data-chart    rate | errors | latency
//   data-points   the number of steps on the chart (the window / the step)
//   data-filled   the steps that had calls
//   data-requests the calls over the window
//   data-start-ms the first step's start, ms since the epoch
//   data-step-ms  the step
//   data-picked   the step index last picked (clicked or Enter), else absent

import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { h } from "../dom";
import { formatTime, zoneName } from "../format";
import { cssVar } from "../theme";
import type { Columns } from "./red";
import type { Slots } from "./window";

/** Line is one series of a chart. */
export interface Line {
  label: string;
  values: (number | null)[];
  /** colorVar is the theme variable of its colour ("--accent"). */
  colorVar: string;
}

/** Pick is a chosen step: its index, and the line nearest the pointer (latency charts). */
export interface Pick {
  index: number;
  line: number;
  value: number | null;
}

/** ChartSpec is what a chart draws. */
export interface ChartSpec {
  kind: "rate" | "errors" | "latency";
  title: string;
  cols: Columns;
  slots: Slots;
  lines: Line[];
  /** value formats a y value for the axis and the legend. */
  value: (v: number) => string;
  onPick: (p: Pick) => void;
}

const height = 180;

/** Chart is a mounted chart; destroy removes its listeners and canvas. */
export interface Chart {
  el: HTMLElement;
  destroy(): void;
}

/** chart draws spec into a new element. */
export function chart(spec: ChartSpec): Chart {
  const body = h("div", { class: "dash-chart-body" });
  const el = h(
    "section",
    {
      class: "dash-chart",
      tabindex: 0,
      "aria-label": `${spec.title}: arrow keys choose a step, Enter opens its traces`,
      dataset: {
        chart: spec.kind,
        points: String(spec.cols.x.length),
        filled: String(spec.cols.filled),
        requests: String(spec.cols.requests.reduce((a, b) => a + b, 0)),
        startMs: String(spec.slots.startMs),
        stepMs: String(spec.slots.stepMs),
      },
    },
    h("h3", null, spec.title),
    body,
  );
  let u: uPlot | null = null;
  let keyIdx = -1;

  const pick = (index: number, top: number | null) => {
    if (index < 0 || index >= spec.cols.x.length) return;
    let line = 0;
    if (top !== null && u && spec.lines.length > 1) {
      const y = u.posToVal(top, "y");
      let best = Infinity;
      spec.lines.forEach((l, i) => {
        const v = l.values[index];
        if (v !== null && Math.abs(v - y) < best) {
          best = Math.abs(v - y);
          line = i;
        }
      });
    }
    el.dataset.picked = String(index);
    spec.onPick({ index, line, value: spec.lines[line].values[index] });
  };

  const build = () => {
    u?.destroy();
    const fg = cssVar("--fg-muted");
    const grid = cssVar("--border");
    const font = `11px ${cssVar("--font") || "sans-serif"}`;
    const axis: uPlot.Axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, font };
    const half = spec.slots.stepMs / 2000;
    const xs = spec.cols.x.map((x) => x + half);
    const has = spec.cols.requests.map((r) => r > 0);
    const opts: uPlot.Options = {
      width: Math.max(200, body.clientWidth),
      height,
      cursor: { drag: { x: false, y: false, setScale: false }, points: { size: 7 } },
      legend: { live: true },
      scales: {
        x: { time: true, range: [spec.slots.startMs / 1000, spec.slots.endMs / 1000] },
        y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
      },
      axes: [
        { ...axis, label: `Time (${zoneName})`, labelSize: 18, labelFont: font },
        { ...axis, size: 64, values: (_u, vals) => vals.map((v) => spec.value(v)) },
      ],
      series: [
        { label: "Step from", value: (_u, v) => (v === null || v === undefined ? "–" : formatTime((v - half) * 1000)) },
        ...spec.lines.map(
          (l): uPlot.Series => ({
            label: l.label,
            stroke: cssVar(l.colorVar),
            width: 1.5,
            spanGaps: false,
            value: (_u, v) => (v === null || v === undefined ? "–" : spec.value(v)),
            points: { show: true, size: 4, filter: marked(has, body.clientWidth) },
          }),
        ),
      ],
    };
    u = new uPlot(opts, [xs, ...spec.lines.map((l) => l.values)] as uPlot.AlignedData, body);
    u.over.addEventListener("click", (e) => {
      if (!u) return;
      const r = u.over.getBoundingClientRect();
      const t = u.posToVal(e.clientX - r.left, "x");
      pick(Math.floor((t * 1000 - spec.slots.startMs) / spec.slots.stepMs), e.clientY - r.top);
    });
    u.over.style.cursor = "pointer";
  };

  el.addEventListener("keydown", (e) => {
    if (!u) return;
    const n = spec.cols.x.length;
    if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
      keyIdx = keyIdx < 0 ? n - 1 : Math.min(n - 1, Math.max(0, keyIdx + (e.key === "ArrowLeft" ? -1 : 1)));
      const v = spec.lines[0].values[keyIdx];
      u.setCursor({ left: u.valToPos(spec.cols.x[keyIdx] + spec.slots.stepMs / 2000, "x"), top: u.valToPos(v ?? 0, "y") });
      e.preventDefault();
    } else if (e.key === "Enter" && keyIdx >= 0) {
      pick(keyIdx, null);
      e.preventDefault();
    }
  });

  // Build once the element is in the page (its width is known), then follow
  // the width; rebuild on a theme change (the colours are read at build).
  let lastWidth = 0;
  const ro = new ResizeObserver(() => {
    const w = body.clientWidth;
    if (w === 0 || w === lastWidth) return;
    lastWidth = w;
    if (!u) build();
    else u.setSize({ width: w, height });
  });
  ro.observe(body);
  const onTheme = () => {
    if (u) build();
  };
  window.addEventListener("tracer-theme", onTheme);

  return {
    el,
    destroy() {
      ro.disconnect();
      window.removeEventListener("tracer-theme", onTheme);
      u?.destroy();
      u = null;
    },
  };
}

/**
 * marked draws the points of the steps that had calls when the steps are far
 * enough apart to see them, else only those with no call on either side
 * (which have no line to show them).
 */
function marked(has: boolean[], width: number): uPlot.Series.Points.Filter {
  const n = has.length;
  const spaced = n > 0 && width / n >= 8;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    if (!has[i]) continue;
    if (spaced || ((i === 0 || !has[i - 1]) && (i === n - 1 || !has[i + 1]))) out.push(i);
  }
  return () => out;
}
