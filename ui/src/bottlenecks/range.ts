// The time range of the analysis pages (bottlenecks, anomalies): a preset
// ("last hour") or a custom range in the viewer's zone, kept in the URL as
// the search page keeps it (lookback=1h, or lookback=custom with start and
// end in unix microseconds, the Jaeger UI's form), so a link reopens the
// same range.

import { h } from "../dom";
import type { QueryValues } from "../router";
import { lookbackMs } from "../search/query";

/** Range is a preset lookback, or "custom" with its bounds. */
export interface Range {
  lookback: string;
  /** The custom range in unix microseconds (null for a preset). */
  startUs: number | null;
  endUs: number | null;
}

/** Preset is a lookback offered in the range's menu. */
export interface Preset {
  value: string;
  label: string;
}

/** presets are the lookbacks offered by default. */
export const presets: readonly Preset[] = [
  { value: "15m", label: "Last 15 minutes" },
  { value: "1h", label: "Last hour" },
  { value: "6h", label: "Last 6 hours" },
  { value: "24h", label: "Last 24 hours" },
  { value: "2d", label: "Last 2 days" },
  { value: "7d", label: "Last 7 days" },
];

function usParam(q: URLSearchParams, name: string): number | null {
  const s = q.get(name);
  if (!s || !/^\d{1,17}$/.test(s)) return null;
  return Number(s);
}

/**
 * readRange reads lookback, start and end; a bad or missing lookback is def,
 * and a custom range without valid bounds (or with start not before end)
 * falls back to def too.
 */
export function readRange(q: URLSearchParams, def = "1h"): Range {
  let lookback = q.get("lookback") ?? def;
  const startUs = usParam(q, "start");
  const endUs = usParam(q, "end");
  if (lookback === "custom") {
    if (startUs !== null && endUs !== null && startUs < endUs) return { lookback, startUs, endUs };
    lookback = def;
  }
  if (Number.isNaN(lookbackMs(lookback))) lookback = def;
  return { lookback, startUs: null, endUs: null };
}

/** rangeQuery is r's URL parameters. */
export function rangeQuery(r: Range): QueryValues {
  if (r.lookback === "custom") return { lookback: "custom", start: String(r.startUs), end: String(r.endUs) };
  return { lookback: r.lookback };
}

/** resolve is the range r means at nowMs, in ms since the epoch. */
export function resolve(r: Range, nowMs = Date.now()): { startMs: number; endMs: number } {
  if (r.lookback === "custom" && r.startUs !== null && r.endUs !== null)
    return { startMs: Math.floor(r.startUs / 1000), endMs: Math.ceil(r.endUs / 1000) };
  return { startMs: nowMs - lookbackMs(r.lookback), endMs: nowMs };
}

/** localInput is a time (unix ms) as a datetime-local input's value, in the viewer's zone. */
function localInput(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/**
 * rangeControl is the range's menu and, for a custom range, its two
 * datetime-local inputs and an Apply button. onChange gets the new range:
 * at once for a preset, on Apply for a custom one (an end not after the
 * start is refused with a message).
 */
export function rangeControl(r: Range, onChange: (r: Range) => void, label = "Time range"): HTMLElement {
  const sel = h("select", { "aria-label": label });
  const opts = presets.slice();
  if (r.lookback !== "custom" && !opts.some((p) => p.value === r.lookback)) opts.push({ value: r.lookback, label: `Last ${r.lookback}` });
  for (const p of opts) sel.append(h("option", { value: p.value, selected: p.value === r.lookback }, p.label));
  sel.append(h("option", { value: "custom", selected: r.lookback === "custom" }, "Custom range…"));
  const cur = resolve(r);
  const from = h("input", { type: "datetime-local", "aria-label": "From", value: localInput(cur.startMs) });
  const to = h("input", { type: "datetime-local", "aria-label": "To", value: localInput(cur.endMs) });
  const msg = h("span", { class: "range-msg", role: "alert" });
  const apply = () => {
    const a = new Date(from.value).getTime();
    const b = new Date(to.value).getTime();
    if (!Number.isFinite(a) || !Number.isFinite(b) || b <= a) {
      msg.textContent = "The end must be after the start.";
      return;
    }
    msg.textContent = "";
    onChange({ lookback: "custom", startUs: a * 1000, endUs: b * 1000 });
  };
  const custom = h(
    "span",
    { class: "range-custom", hidden: r.lookback !== "custom" },
    from,
    "–",
    to,
    h("button", { type: "button", onclick: apply }, "Apply"),
    msg,
  );
  sel.addEventListener("change", () => {
    if (sel.value === "custom") {
      custom.hidden = false;
      from.focus();
      return;
    }
    custom.hidden = true;
    onChange({ lookback: sel.value, startUs: null, endUs: null });
  });
  return h("span", { class: "range-control" }, sel, custom);
}
