// The timeline (waterfall): a span tree on the left, bars on a time axis on
// the right, a minimap of the whole trace above. Rows are virtual: only the
// rows on screen (plus a few) are in the DOM, recycled as the view scrolls,
// so a 100,000-span trace costs what a 50-span one does per frame. The
// minimap is one canvas drawn once per layout. The Jaeger UI's equivalent is
// packages/jaeger-ui/src/components/TracePage/TraceTimelineViewer (ListView
// virtualises its rows too, but builds its tree recursively).

import { h, clear } from "../dom";
import { formatDuration } from "../format";
import { bigSub, type Trace } from "../model/trace";
import { cssVar, serviceColor } from "../theme";
import { REL_NONE, REL_SELF, relClass, relData } from "./causal";
import { recordedTimes, type Times } from "./skew";
import type { Rows } from "./tree";
import "./trace.css";

/** ROW_H is a row's height in CSS pixels. */
export const ROW_H = 24;
const OVERSCAN = 6;
const MAX_EVENT_TICKS = 32;
const MAX_INDENT = 24;
const INDENT = 12;
const MIN_RANGE = 100; // ns

/**
 * MEASURE_DRAW names the performance measure of each timeline frame (its
 * script, style and layout), recorded only when localStorage
 * "tracer.perf" is "1": the UI benchmark (bench/ui) sets it.
 */
export const MEASURE_DRAW = "tracer:timeline-draw";
const measuring = (() => {
  try {
    return localStorage.getItem("tracer.perf") === "1";
  } catch {
    return false;
  }
})();

export interface TimelineOptions {
  /** The viewer selected span i (-1: none). */
  onSelect(i: number): void;
  /** The zoom changed to [from, to] (ns after the trace's start). */
  onZoom(from: number, to: number): void;
  /** A span was collapsed or expanded. */
  onCollapse(): void;
  /** The spans on the critical path (1 = on it), or null when unknown. */
  critical: Uint8Array | null;
}

interface Slot {
  el: HTMLDivElement;
  label: HTMLDivElement;
  toggle: HTMLSpanElement;
  swatch: HTMLSpanElement;
  service: HTMLSpanElement;
  name: HTMLSpanElement;
  deep: HTMLSpanElement;
  err: HTMLSpanElement;
  lane: HTMLDivElement;
  rel: HTMLSpanElement;
  bar: HTMLDivElement;
  dur: HTMLSpanElement;
  events: HTMLDivElement;
  row: number;
  span: number;
  geom: string;
  /** The row's state bits (see fill), -1: redraw. */
  cls: number;
  frame: number;
}

// The row state bits: a row's class names are built once per combination
// and kept, so that scrolling builds no string.
const B_ERROR = 1;
const B_SELECTED = 2;
const B_CURSOR = 4;
const B_MATCH = 8;
const B_CURRENT = 16;
const B_COLLAPSED = 32;
const B_CRITICAL = 64;
const B_SHIFTED = 128;
const B_REL = 256; // times the REL_* code

/** relGlyph marks a row's relation in text too, not only by its colour. */
const relGlyph = ["", "◀", "▶", "∥", "?", ""];
const relTitle = ["", "Started before the selected span", "Started after the selected span", "Concurrent with the selected span", "Order with the selected span unknown", ""];

/** Timeline draws trace's rows; the page owns the state and tells it what changed. */
export class Timeline {
  readonly el: HTMLDivElement;
  /** The visible time range, ns after the trace's start. */
  from = 0;
  to: number;
  selected = -1;
  cursor = -1;
  private matchMask: Uint8Array;
  private current = -1;
  /** The span times drawn: recorded, or adjusted for clock skew. */
  private times: Times;
  /** The selected span's relation to each span (REL_*), or null. */
  private causal: Uint8Array | null = null;
  private readonly classNames = new Map<number, string>();
  private readonly axisLabel: HTMLDivElement;
  private readonly body: HTMLDivElement;
  private readonly spacer: HTMLDivElement;
  private readonly axis: HTMLDivElement;
  private readonly grid: HTMLDivElement;
  private readonly brush: HTMLDivElement;
  private readonly mmBrush: HTMLDivElement;
  private readonly mm: HTMLCanvasElement;
  private readonly mmWindow: HTMLDivElement;
  private readonly mmWrap: HTMLDivElement;
  private pool: Slot[] = [];
  private frame = 0;
  private raf = 0;
  private laneW = 0;
  private labelW = 360;
  private mmW = 0;
  private mmH = 0;
  private axisKey = "";
  private mmDirty = true;
  private readonly colors = new Map<string, string>();
  private readonly eventOffsets = new Map<number, Float64Array>();
  private readonly ro: ResizeObserver;
  private readonly offs: (() => void)[] = [];

  constructor(
    private readonly trace: Trace,
    private readonly rows: Rows,
    private readonly opts: TimelineOptions,
  ) {
    this.times = recordedTimes(trace);
    this.to = this.times.total;
    this.matchMask = new Uint8Array(trace.spans.length);
    this.mm = h("canvas", { class: "tl-mm-canvas", "aria-hidden": "true" });
    this.mmWindow = h("div", { class: "tl-mm-window" });
    this.mmBrush = h("div", { class: "tl-brush", hidden: true });
    this.mmWrap = h(
      "div",
      { class: "tl-mm", title: "The whole trace: drag to zoom to a time range, click to scroll there" },
      this.mm,
      this.mmWindow,
      this.mmBrush,
    );
    this.axis = h("div", { class: "tl-axis", title: "Drag to zoom to a time range" });
    this.grid = h("div", { class: "tl-grid", "aria-hidden": "true" });
    this.brush = h("div", { class: "tl-brush", hidden: true });
    this.spacer = h("div", { class: "tl-spacer", role: "presentation" });
    this.axisLabel = h("div", { class: "tl-top-label tl-axis-label" }, "Service · operation");
    this.body = h(
      "div",
      {
        class: "tl-body",
        tabindex: "0",
        role: "tree",
        "aria-label": "Spans: arrows move, left and right collapse and expand, Enter selects",
      },
      this.spacer,
    );
    this.el = h(
      "div",
      { class: "tl" },
      h("div", { class: "tl-top" }, h("div", { class: "tl-top-label" }, "Overview"), this.mmWrap),
      h("div", { class: "tl-top" }, this.axisLabel, this.axis),
      h("div", { class: "tl-bodywrap" }, this.body, this.grid, this.brush),
    );
    // Sizes are read here, once per resize, never while drawing (a read after
    // the rows changed would force a layout in the middle of a frame).
    this.ro = new ResizeObserver(() => {
      this.mmW = this.mmWrap.clientWidth;
      this.mmH = this.mmWrap.clientHeight;
      this.labelW = this.pool[0]?.label.offsetWidth || parseFloat(getComputedStyle(this.el).getPropertyValue("--tl-label")) || 360;
      this.mmDirty = true;
      this.axisKey = "";
      this.schedule();
    });
    this.ro.observe(this.body);
    this.ro.observe(this.mmWrap);
    this.on(this.body, "scroll", () => this.schedule());
    this.on(this.spacer, "click", (e) => this.click(e as MouseEvent));
    this.on(this.body, "keydown", (e) => this.key(e as KeyboardEvent));
    this.on(this.body, "wheel", (e) => this.wheel(e as WheelEvent), { passive: false });
    this.on(this.axis, "mousedown", (e) => this.drag(e as MouseEvent, this.axis, false));
    this.on(this.mmWrap, "mousedown", (e) => this.drag(e as MouseEvent, this.mmWrap, true));
    this.on(window, "tracer-theme", () => {
      this.colors.clear();
      for (const s of this.pool) {
        s.span = -1;
        s.cls = -1;
      }
      this.mmDirty = true;
      this.schedule();
    });
  }

  private on(t: EventTarget, type: string, fn: (e: Event) => void, o?: AddEventListenerOptions): void {
    t.addEventListener(type, fn, o);
    this.offs.push(() => t.removeEventListener(type, fn, o));
  }

  destroy(): void {
    cancelAnimationFrame(this.raf);
    this.ro.disconnect();
    for (const off of this.offs) off();
  }

  /** focus puts the keyboard focus on the rows. */
  focus(): void {
    this.body.focus({ preventScroll: true });
  }

  /** schedule draws on the next frame (at most once per frame). */
  schedule(): void {
    if (!this.raf) this.raf = requestAnimationFrame(() => this.draw());
  }

  /** drawNow draws synchronously (the first paint). */
  drawNow(): void {
    cancelAnimationFrame(this.raf);
    this.draw();
  }

  /** layoutChanged is called after rows collapsed or expanded. */
  layoutChanged(): void {
    this.spacer.style.height = `${this.rows.count * ROW_H}px`;
    this.mmDirty = true;
    this.schedule();
  }

  setZoom(from: number, to: number, notify = true): void {
    const d = this.times.total;
    let a = Math.max(0, Math.min(from, to));
    let b = Math.min(d, Math.max(from, to));
    if (b - a < MIN_RANGE) {
      const mid = (a + b) / 2;
      a = Math.max(0, mid - MIN_RANGE / 2);
      b = Math.min(d, a + MIN_RANGE);
    }
    if (a === this.from && b === this.to) return;
    this.from = a;
    this.to = b;
    this.schedule();
    if (notify) this.opts.onZoom(a, b);
  }

  zoomed(): boolean {
    return this.from > 0 || this.to < this.times.total;
  }

  resetZoom(): void {
    this.setZoom(0, this.times.total);
  }

  /** zoomBy scales the range by f around the time at fraction at of the lane. */
  zoomBy(f: number, at = 0.5): void {
    const r = this.to - this.from;
    const t = this.from + r * at;
    const nr = Math.max(MIN_RANGE, Math.min(r * f, this.times.total));
    this.setZoom(t - nr * at, t - nr * at + nr);
  }

  panBy(fraction: number): void {
    const r = this.to - this.from;
    const d = this.times.total;
    const a = Math.max(0, Math.min(d - r, this.from + r * fraction));
    this.setZoom(a, a + r);
  }

  setSelected(i: number): void {
    this.selected = i;
    if (i >= 0) this.cursor = i;
    this.schedule();
  }

  setMatches(list: number[], current: number): void {
    this.matchMask.fill(0);
    for (const i of list) this.matchMask[i] = 1;
    this.current = current;
    this.schedule();
  }

  setCritical(mask: Uint8Array | null): void {
    this.opts.critical = mask;
    this.redrawRows();
  }

  /** setCausal shades each row by its span's relation (REL_*) to the selected span; null: none. */
  setCausal(rel: Uint8Array | null): void {
    this.causal = rel;
    this.redrawRows();
  }

  /**
   * setTimes draws the spans at times (recorded, or adjusted for clock
   * skew), on the whole new time axis.
   */
  setTimes(times: Times): void {
    this.times = times;
    this.from = 0;
    this.to = times.total;
    this.axisLabel.textContent = times.adjusted ? "Service · operation (adjusted times)" : "Service · operation";
    this.mmDirty = true;
    this.axisKey = "";
    for (const s of this.pool) s.geom = "";
    this.redrawRows();
  }

  /** spanTimes are the times drawn for span i: ns after the axis' zero. */
  spanTimes(i: number): { start: number; end: number; shift: number; adjusted: boolean } {
    return { start: this.times.start[i], end: this.times.end[i], shift: this.times.shift[i], adjusted: this.times.adjusted };
  }

  private redrawRows(): void {
    for (const s of this.pool) s.cls = -1;
    this.schedule();
  }

  /** scrollTo brings span i's row into view (it must have a row). */
  scrollTo(i: number): void {
    const r = this.rows.rowOf[i];
    if (r < 0) return;
    const top = this.body.scrollTop;
    const vh = this.body.clientHeight || 400;
    const y = r * ROW_H;
    if (y < top || y + ROW_H > top + vh) this.body.scrollTop = Math.max(0, y - vh / 2 + ROW_H / 2);
    this.schedule();
  }

  private color(service: string): string {
    let c = this.colors.get(service);
    if (!c) this.colors.set(service, (c = serviceColor(service)));
    return c;
  }

  private makeSlot(): Slot {
    const toggle = h("span", { class: "tl-toggle", "aria-hidden": "true" });
    const swatch = h("span", { class: "tl-swatch" });
    const service = h("span", { class: "tl-service" });
    const name = h("span", { class: "tl-name" });
    const deep = h("span", { class: "tl-deep" });
    const err = h("span", { class: "tl-err", title: "Error status" }, "!");
    const rel = h("span", { class: "tl-rel" });
    const label = h("div", { class: "tl-label" }, toggle, swatch, deep, service, name, err, rel);
    const bar = h("div", { class: "tl-bar" });
    const dur = h("span", { class: "tl-dur" });
    const events = h("div", { class: "tl-events" });
    const lane = h("div", { class: "tl-lane" }, bar, events, dur);
    const el = h("div", { class: "tl-row", role: "treeitem" }, label, lane);
    this.spacer.append(el);
    return { el, label, toggle, swatch, service, name, deep, err, lane, rel, bar, dur, events, row: -1, span: -1, geom: "", cls: -1, frame: 0 };
  }

  private events(i: number): Float64Array {
    let offs = this.eventOffsets.get(i);
    if (!offs) {
      const evs = this.trace.spans[i].wire.events ?? [];
      const n = Math.min(evs.length, MAX_EVENT_TICKS);
      offs = new Float64Array(n);
      for (let k = 0; k < n; k++) offs[k] = bigSub(evs[k].timeUnixNano, this.trace.startUnixNano);
      this.eventOffsets.set(i, offs);
    }
    return offs;
  }

  private draw(): void {
    this.raf = 0;
    if (!measuring) {
      this.paint();
      return;
    }
    const t0 = performance.now();
    this.paint();
    void this.body.offsetHeight; // the style and layout the frame needs, now
    performance.measure(MEASURE_DRAW, { start: t0 });
  }

  private paint(): void {
    this.frame++;
    const rows = this.rows;
    const bw = this.body.clientWidth;
    const labelW = this.labelWidth();
    this.laneW = Math.max(1, bw - labelW);
    if (this.spacer.style.height !== `${rows.count * ROW_H}px`) this.spacer.style.height = `${rows.count * ROW_H}px`;
    const top = this.body.scrollTop;
    const vh = this.body.clientHeight;
    const first = Math.max(0, Math.floor(top / ROW_H) - OVERSCAN);
    const last = Math.min(rows.count, Math.ceil((top + vh) / ROW_H) + OVERSCAN);
    const need = last - first;
    if (need > this.pool.length) {
      while (this.pool.length < need) this.pool.push(this.makeSlot());
      for (const s of this.pool) s.row = -1;
    }
    const P = this.pool.length;
    const zkey = `${this.from},${this.to},${this.laneW}`;
    for (let r = first; r < last; r++) this.fill(this.pool[r % P], r, zkey);
    for (const s of this.pool) {
      if (s.frame !== this.frame && s.row !== -2) {
        s.el.style.display = "none";
        s.row = -2;
      }
    }
    this.drawAxis(labelW);
    this.drawMinimap(labelW, top, vh);
    // The class says which times the rows on screen are drawn at, so it
    // changes with the frame that draws them, not when setTimes is called.
    if (this.el.classList.contains("is-adjusted") !== this.times.adjusted) {
      this.el.classList.toggle("is-adjusted", this.times.adjusted);
    }
  }

  private labelWidth(): number {
    return this.labelW;
  }

  private fill(s: Slot, r: number, zkey: string): void {
    const i = this.rows.rows[r];
    const span = this.trace.spans[i];
    s.frame = this.frame;
    if (s.row !== r) {
      if (s.row === -2) s.el.style.display = "";
      s.row = r;
      s.el.style.transform = `translateY(${r * ROW_H}px)`;
    }
    const rows = this.rows;
    const hasKids = rows.hasChildren(i);
    const collapsed = !!rows.collapsed[i];
    if (s.span !== i) {
      s.span = i;
      s.geom = "";
      const d = rows.depth[i];
      const color = this.color(span.service);
      s.el.dataset.spanId = span.spanId;
      s.el.dataset.index = String(i);
      s.el.dataset.depth = String(d);
      s.el.setAttribute("aria-level", String(d + 1));
      s.label.style.paddingLeft = `${4 + Math.min(d, MAX_INDENT) * INDENT}px`;
      s.deep.textContent = d > MAX_INDENT ? `${d}` : "";
      s.deep.title = d > MAX_INDENT ? `depth ${d}` : "";
      s.swatch.style.background = color;
      s.service.textContent = span.service;
      s.name.textContent = span.name;
      s.label.title = `${span.service} · ${span.name}\n${formatDuration(span.durationNs)}${span.status === "error" ? "\nerror" + (span.statusMessage ? ": " + span.statusMessage : "") : ""}`;
      s.bar.title = s.label.title;
      s.bar.style.background = span.status === "error" ? "var(--error)" : color;
      s.dur.textContent = formatDuration(span.durationNs);
    }
    if (hasKids) {
      s.toggle.textContent = collapsed ? "▸" : "▾";
      s.el.setAttribute("aria-expanded", String(!collapsed));
      s.toggle.title = collapsed ? `Expand (${rows.size[i] - 1} spans below)` : "Collapse";
    } else {
      s.toggle.textContent = "";
      s.el.removeAttribute("aria-expanded");
    }
    const rel = this.causal ? this.causal[i] : REL_NONE;
    let bits = rel * B_REL;
    if (span.status === "error") bits |= B_ERROR;
    if (i === this.selected) bits |= B_SELECTED;
    if (i === this.cursor) bits |= B_CURSOR;
    if (this.matchMask[i]) bits |= B_MATCH;
    if (i === this.current) bits |= B_CURRENT;
    if (collapsed) bits |= B_COLLAPSED;
    if (this.opts.critical?.[i]) bits |= B_CRITICAL;
    if (this.times.shift[i] !== 0) bits |= B_SHIFTED;
    if (bits !== s.cls) {
      s.cls = bits;
      s.el.className = this.className(bits);
      s.el.setAttribute("aria-selected", String(i === this.selected));
      s.rel.textContent = relGlyph[rel];
      s.rel.title = relTitle[rel];
      if (rel === REL_NONE || rel === REL_SELF) delete s.el.dataset.rel;
      else s.el.dataset.rel = relData[rel];
    }
    if (s.geom !== zkey) {
      s.geom = zkey;
      this.place(s, i);
    }
  }

  private className(bits: number): string {
    let c = this.classNames.get(bits);
    if (c === undefined) {
      c = "tl-row";
      if (bits & B_ERROR) c += " is-error";
      if (bits & B_SELECTED) c += " is-selected";
      if (bits & B_CURSOR) c += " is-cursor";
      if (bits & B_MATCH) c += " is-match";
      if (bits & B_CURRENT) c += " is-current";
      if (bits & B_COLLAPSED) c += " is-collapsed";
      if (bits & B_CRITICAL) c += " is-critical";
      if (bits & B_SHIFTED) c += " is-shifted";
      c += relClass[Math.floor(bits / B_REL)] ?? "";
      this.classNames.set(bits, c);
    }
    return c;
  }

  private x(t: number): number {
    return ((t - this.from) / (this.to - this.from)) * this.laneW;
  }

  private place(s: Slot, i: number): void {
    const span = this.trace.spans[i];
    const W = this.laneW;
    const x0 = this.x(this.times.start[i]);
    const x1 = this.x(this.times.end[i]);
    const out = x1 < 0 || x0 > W;
    s.bar.style.display = out ? "none" : "";
    const c0 = Math.max(x0, -2);
    const c1 = Math.min(x1, W + 2);
    s.bar.style.transform = `translateX(${c0}px)`;
    s.bar.style.width = `${Math.max(1, c1 - c0)}px`;
    if (out) {
      s.dur.classList.remove("is-inside");
      s.dur.style.left = x1 < 0 ? "4px" : `${W - 4}px`;
      s.dur.style.transform = x1 < 0 ? "" : "translateX(-100%)";
      s.dur.textContent = (x1 < 0 ? "◂ " : "") + formatDuration(span.durationNs) + (x1 < 0 ? "" : " ▸");
    } else {
      s.dur.textContent = formatDuration(span.durationNs);
      // Right of the bar, else left of it, else inside its end.
      const inside = W - c1 <= 70 && c0 < 70;
      s.dur.classList.toggle("is-inside", inside);
      if (W - c1 > 70) {
        s.dur.style.left = `${c1 + 4}px`;
        s.dur.style.transform = "";
      } else if (!inside) {
        s.dur.style.left = `${c0 - 4}px`;
        s.dur.style.transform = "translateX(-100%)";
      } else {
        s.dur.style.left = `${Math.min(c1, W) - 4}px`;
        s.dur.style.transform = "translateX(-100%)";
      }
    }
    const evs = this.events(i);
    const shift = this.times.start[i] - span.startNs; // the events move with their span
    clear(s.events);
    const wire = span.wire.events ?? [];
    for (let k = 0; k < evs.length; k++) {
      const x = this.x(evs[k] + shift);
      if (x < 0 || x > W) continue;
      s.events.append(
        h("i", {
          class: "tl-ev",
          style: `transform:translateX(${x}px)`,
          title: `${wire[k].name} at +${formatDuration(evs[k] - span.startNs)}`,
        }),
      );
    }
  }

  private drawAxis(labelW: number): void {
    const key = `${this.from},${this.to},${this.laneW},${labelW}`;
    if (key === this.axisKey) return;
    this.axisKey = key;
    clear(this.axis);
    clear(this.grid);
    this.grid.style.left = `${labelW}px`;
    this.grid.style.width = `${this.laneW}px`;
    const range = this.to - this.from;
    const step = niceStep(range / Math.max(1, this.laneW / 110));
    for (let t = Math.ceil(this.from / step) * step; t <= this.to; t += step) {
      const x = this.x(t);
      this.axis.append(h("span", { class: "tl-tick", style: `left:${x}px` }, formatDuration(t)));
      this.grid.append(h("i", { style: `left:${x}px` }));
    }
  }

  private drawMinimap(labelW: number, top: number, vh: number): void {
    const W = this.mmW;
    const H = this.mmH;
    void labelW;
    if (this.mmDirty && W > 0 && H > 0) {
      this.mmDirty = false;
      const dpr = window.devicePixelRatio || 1;
      this.mm.width = Math.round(W * dpr);
      this.mm.height = Math.round(H * dpr);
      const ctx = this.mm.getContext("2d");
      if (ctx) {
        ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
        ctx.clearRect(0, 0, W, H);
        const rows = this.rows;
        const n = rows.count;
        const d = this.times.total;
        const rh = Math.max(H / Math.max(n, 1), 0.5);
        const err = cssVar("--error") || "red";
        let last = "";
        for (let r = 0; r < n; r++) {
          const i = rows.rows[r];
          const span = this.trace.spans[i];
          const c = span.status === "error" ? err : this.color(span.service);
          if (c !== last) ctx.fillStyle = last = c;
          const x = (this.times.start[i] / d) * W;
          ctx.fillRect(x, (r / n) * H, Math.max(1, ((this.times.end[i] - this.times.start[i]) / d) * W), rh);
        }
      }
    }
    const d = this.times.total;
    const n = Math.max(this.rows.count, 1);
    const wx0 = (this.from / d) * W;
    const wx1 = (this.to / d) * W;
    const wy0 = (top / ROW_H / n) * H;
    const wy1 = Math.min(H, ((top + vh) / ROW_H / n) * H);
    const st = this.mmWindow.style;
    st.transform = `translate(${wx0}px, ${wy0}px)`;
    st.width = `${Math.max(2, wx1 - wx0)}px`;
    st.height = `${Math.max(2, wy1 - wy0)}px`;
  }

  private click(e: MouseEvent): void {
    const rowEl = (e.target as Element).closest<HTMLElement>(".tl-row");
    if (!rowEl?.dataset.index) return;
    const i = Number(rowEl.dataset.index);
    this.cursor = i;
    if ((e.target as Element).closest(".tl-toggle")) {
      this.toggle(i);
      this.focus();
      return;
    }
    this.opts.onSelect(i === this.selected ? -1 : i);
    this.focus();
  }

  /** toggle collapses or expands span i. */
  toggle(i: number): void {
    if (this.rows.setCollapsed(i, !this.rows.collapsed[i])) {
      this.layoutChanged();
      this.opts.onCollapse();
    }
  }

  private moveCursor(r: number): void {
    const rows = this.rows;
    if (!rows.count) return;
    r = Math.max(0, Math.min(rows.count - 1, r));
    this.cursor = rows.rows[r];
    this.scrollTo(this.cursor);
  }

  private key(e: KeyboardEvent): void {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const rows = this.rows;
    const cur = this.cursor >= 0 ? rows.rowOf[this.cursor] : -1;
    const page = Math.max(1, Math.floor(this.body.clientHeight / ROW_H) - 1);
    switch (e.key) {
      case "ArrowDown":
        this.moveCursor(cur + 1);
        break;
      case "ArrowUp":
        this.moveCursor(cur < 0 ? 0 : cur - 1);
        break;
      case "PageDown":
        this.moveCursor(cur + page);
        break;
      case "PageUp":
        this.moveCursor(cur - page);
        break;
      case "Home":
        this.moveCursor(0);
        break;
      case "End":
        this.moveCursor(rows.count - 1);
        break;
      case "ArrowLeft":
        if (this.cursor < 0) this.moveCursor(0);
        else if (rows.hasChildren(this.cursor) && !rows.collapsed[this.cursor]) this.toggle(this.cursor);
        else if (rows.parent[this.cursor] >= 0) this.moveCursor(rows.rowOf[rows.parent[this.cursor]]);
        break;
      case "ArrowRight":
        if (this.cursor < 0) this.moveCursor(0);
        else if (rows.collapsed[this.cursor]) this.toggle(this.cursor);
        else if (rows.hasChildren(this.cursor)) this.moveCursor(cur + 1);
        break;
      case "Enter":
      case " ":
        if (this.cursor >= 0) this.opts.onSelect(this.cursor);
        break;
      case "+":
      case "=":
        this.zoomBy(0.5);
        break;
      case "-":
        this.zoomBy(2);
        break;
      case "0":
        this.resetZoom();
        break;
      default:
        return;
    }
    e.preventDefault();
    this.schedule();
  }

  private wheel(e: WheelEvent): void {
    if (e.ctrlKey || e.metaKey) {
      e.preventDefault();
      const at = (e.clientX - this.body.getBoundingClientRect().left - this.labelWidth()) / this.laneW;
      this.zoomBy(e.deltaY > 0 ? 1.25 : 0.8, Math.max(0, Math.min(1, at)));
    } else if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
      if (!this.zoomed()) return;
      e.preventDefault();
      this.panBy((e.deltaX || e.deltaY) / Math.max(1, this.laneW));
    }
  }

  /** drag brushes a time range on the axis or the minimap (whole: in the whole trace's scale). */
  private drag(e: MouseEvent, target: HTMLElement, whole: boolean): void {
    if (e.button !== 0) return;
    e.preventDefault();
    const rect = target.getBoundingClientRect();
    const d = this.times.total;
    const toTime = (cx: number) => {
      const f = Math.max(0, Math.min(1, (cx - rect.left) / rect.width));
      return whole ? f * d : this.from + f * (this.to - this.from);
    };
    const x0 = e.clientX;
    const t0 = toTime(x0);
    // The brush: over the lanes for the axis, over the minimap for it.
    const brush = whole ? this.mmBrush : this.brush;
    const offset = whole ? 0 : this.labelWidth();
    const show = (cx: number) => {
      const a = Math.max(rect.left, Math.min(x0, cx));
      const b = Math.min(rect.right, Math.max(x0, cx));
      brush.hidden = b - a < 3;
      brush.style.left = `${offset + a - rect.left}px`;
      brush.style.width = `${b - a}px`;
    };
    const move = (ev: MouseEvent) => show(ev.clientX);
    const up = (ev: MouseEvent) => {
      window.removeEventListener("mousemove", move);
      window.removeEventListener("mouseup", up);
      brush.hidden = true;
      if (Math.abs(ev.clientX - x0) >= 3) this.setZoom(t0, toTime(ev.clientX));
      else if (whole) {
        // A click on the minimap scrolls to that part of the trace.
        const f = (ev.clientY - rect.top) / rect.height;
        const r = Math.floor(f * this.rows.count);
        this.body.scrollTop = Math.max(0, r * ROW_H - this.body.clientHeight / 2);
      }
    };
    window.addEventListener("mousemove", move);
    window.addEventListener("mouseup", up);
  }
}

/** niceStep rounds a tick interval up to 1, 2 or 5 times a power of ten (ns). */
export function niceStep(raw: number): number {
  if (!(raw > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}
