// A small canvas line of a series' request rate for the overview table: one
// canvas per row, drawn once.

import { h } from "../dom";
import { cssVar } from "../theme";

/** sparkline draws values (0 where a step had no calls) on a width x height canvas. */
export function sparkline(values: number[], color: string, width = 120, height = 24): HTMLCanvasElement {
  const c = h("canvas", { class: "sparkline", "aria-hidden": "true" });
  const dpr = window.devicePixelRatio || 1;
  c.width = Math.round(width * dpr);
  c.height = Math.round(height * dpr);
  c.style.width = `${width}px`;
  c.style.height = `${height}px`;
  const ctx = c.getContext("2d");
  if (!ctx || values.length === 0) return c;
  ctx.scale(dpr, dpr);
  let max = 0;
  for (const v of values) if (v > max) max = v;
  ctx.strokeStyle = cssVar("--border");
  ctx.beginPath();
  ctx.moveTo(0, height - 0.5);
  ctx.lineTo(width, height - 0.5);
  ctx.stroke();
  if (max === 0) return c;
  ctx.strokeStyle = color;
  ctx.lineWidth = 1.25;
  ctx.beginPath();
  const dx = values.length > 1 ? width / (values.length - 1) : 0;
  values.forEach((v, i) => {
    const x = i * dx;
    const y = height - 1 - (v / max) * (height - 3);
    if (i === 0) ctx.moveTo(x, y);
    else ctx.lineTo(x, y);
  });
  ctx.stroke();
  return c;
}
