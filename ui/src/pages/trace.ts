// The trace page (/trace/{id}): a header with the trace's summary and
// actions, and three views of the trace (timeline, flame graph, statistics),
// with the selected span's details beside them. The analysis API adds the
// critical path, the selected span's causal relation to the others (rows
// shaded before / after / concurrent / unknown) and clock-skew warnings with
// an adjusted view. The URL holds every choice (span=, tab=, zoom=, uiFind=,
// collapsed=, adjusted=), so a link reopens the same view;
// uiFind is the Jaeger UI's name for the find box
// (packages/jaeger-ui/src/components/TracePage/index.tsx).

import { ApiError, apiURL } from "../api";
import { h, clear, showState } from "../dom";
import { formatCount, formatDuration, formatTime, zoneName } from "../format";
import { loadTrace, type Trace } from "../model/trace";
import { href, navigate, setQuery, type Cleanup, type Mount } from "../router";
import { serviceColor } from "../theme";
import { Causal, REL_AFTER, REL_BEFORE, REL_CONCURRENT, REL_UNKNOWN, type CausalView } from "../trace/causal";
import { criticalPath } from "../trace/critical";
import { renderCausal, renderDetails } from "../trace/details";
import { find } from "../trace/find";
import { adjustedTimes, fetchSkew, recordedTimes, skewWarning, type SkewAnswer } from "../trace/skew";
import { Timeline } from "../trace/timeline";
import { Rows } from "../trace/tree";
import { renderFlame } from "../views/flame";
import { renderStats } from "../views/stats";

type Tab = "timeline" | "flame" | "stats";
const tabs: { id: Tab; label: string }[] = [
  { id: "timeline", label: "Timeline" },
  { id: "flame", label: "Flame graph" },
  { id: "stats", label: "Statistics" },
];

/** MAX_COLLAPSED_IN_URL bounds the collapsed spans kept in the URL. */
const MAX_COLLAPSED_IN_URL = 100;

/** The performance marks the UI benchmark (bench/ui) reads: the model built, the first rows drawn. */
export const MARK_MODEL = "tracer:trace-model";
export const MARK_INTERACTIVE = "tracer:trace-interactive";

export const mount: Mount = (root, route) => {
  const id = route.params.id;
  const ctl = new AbortController();
  let cleanup: Cleanup | undefined;
  showState(root, "loading", `Loading trace ${id}…`);
  loadTrace(id, ctl.signal).then(
    (trace) => {
      performance.mark(MARK_MODEL);
      if (ctl.signal.aborted) return;
      if (!trace.spans.length) {
        showState(root, "empty", `Trace ${id} has no spans.`);
        return;
      }
      cleanup = show(root, trace, route.query, ctl.signal);
    },
    (e: unknown) => {
      if (ctl.signal.aborted) return;
      if (e instanceof ApiError && e.status === 404) {
        clear(root);
        root.append(
          h(
            "div",
            { class: "state state-empty", role: "status" },
            `Trace ${id} not found. It may be older than the storage's retention, or not sent yet. `,
            h("a", { href: href("/search") }, "Search traces"),
          ),
        );
        return;
      }
      showState(root, "error", `Could not load trace ${id}: ${(e as Error).message}`);
    },
  );
  return () => {
    ctl.abort();
    cleanup?.();
  };
};

function show(root: HTMLElement, trace: Trace, query: URLSearchParams, signal: AbortSignal): Cleanup {
  clear(root);
  const rows = new Rows(trace);
  const state = {
    tab: (tabs.some((t) => t.id === query.get("tab")) ? query.get("tab") : "timeline") as Tab,
    selected: -1,
    find: query.get("uiFind") ?? "",
    matches: [] as number[],
    current: -1,
    adjusted: query.get("adjusted") === "1",
    causal: null as CausalView | null,
  };
  const causal = new Causal(trace);
  for (const sid of (query.get("collapsed") ?? "").split(",")) {
    const s = sid ? trace.byId.get(sid) : undefined;
    if (s) rows.collapsed[s.index] = 1;
  }
  rows.layout();

  // Zooming writes the URL once it settles, not on every frame.
  let urlTimer = 0;
  const writeURLSoon = () => {
    clearTimeout(urlTimer);
    urlTimer = window.setTimeout(writeURL, 200);
  };
  const writeURL = () => {
    clearTimeout(urlTimer);
    const collapsed = rows.collapsedList();
    setQuery({
      span: state.selected >= 0 ? trace.spans[state.selected].spanId : undefined,
      tab: state.tab === "timeline" ? undefined : state.tab,
      zoom: timeline.zoomed() ? `${Math.round(timeline.from)}-${Math.round(timeline.to)}` : undefined,
      uiFind: state.find || undefined,
      adjusted: state.adjusted ? 1 : undefined,
      collapsed: collapsed.length && collapsed.length <= MAX_COLLAPSED_IN_URL ? collapsed.map((i) => trace.spans[i].spanId).join(",") : undefined,
    });
  };

  const details = h("aside", { class: "tv-details", "aria-label": "Span details", hidden: true });
  let timesOrigin = 0;
  let drawnAdjusted = false;
  const detailOpts = { onSelect: (j: number) => select(j), onClose: () => select(-1) };
  const showDetails = (i: number) => {
    const t = timeline.spanTimes(i);
    const adjusted = t.adjusted ? { start: t.start + timesOrigin, end: t.end + timesOrigin, shift: t.shift } : undefined;
    return renderDetails(details, trace, i, { ...detailOpts, adjusted });
  };
  const select = (i: number, scroll = true) => {
    const changed = i !== state.selected;
    state.selected = i;
    timeline.setSelected(i);
    if (i >= 0) {
      if (rows.reveal(i)) timeline.layoutChanged();
      if (scroll) timeline.scrollTo(i);
      details.hidden = false;
      const section = showDetails(i);
      details.scrollTop = 0;
      if (changed || !state.causal) {
        // One request per selection; a newer selection cancels it.
        state.causal = null;
        timeline.setCausal(null);
        showRelLegend(null);
        void causal.of(i).then((v) => {
          if (v === undefined || signal.aborted || state.selected !== i) return;
          state.causal = v;
          timeline.setCausal(v ? v.rel : null);
          showRelLegend(v);
          renderCausal(section, trace, v, detailOpts);
        });
      } else {
        renderCausal(section, trace, state.causal, detailOpts);
      }
    } else {
      causal.cancel();
      state.causal = null;
      timeline.setCausal(null);
      showRelLegend(null);
      details.hidden = true;
      details.replaceChildren();
    }
    writeURL();
  };

  const timeline = new Timeline(trace, rows, {
    onSelect: (i) => select(i, false),
    onZoom: () => {
      resetZoom.disabled = !timeline.zoomed();
      writeURLSoon();
    },
    onCollapse: writeURL,
    critical: null,
  });
  const zoom = (query.get("zoom") ?? "").match(/^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$/);
  if (zoom) timeline.setZoom(Number(zoom[1]), Number(zoom[2]), false);

  // --- header ---
  const rootSpan = trace.spans[trace.roots[0] ?? 0];
  const hasRoot = rootSpan.parentSpanId === "";
  let errors = 0;
  let maxDepth = 0;
  for (let i = 0; i < rows.n; i++) {
    if (trace.spans[i].status === "error") errors++;
    if (rows.depth[i] > maxDepth) maxDepth = rows.depth[i];
  }
  const compareInput = h("input", {
    type: "text",
    class: "tv-compare-input",
    placeholder: "other trace id",
    "aria-label": "Trace id to compare with",
    spellcheck: false,
    pattern: "[0-9a-fA-F]{1,32}",
  });
  const compareForm = h(
    "form",
    {
      class: "tv-compare",
      onsubmit: (e: Event) => {
        e.preventDefault();
        const other = compareInput.value.trim().toLowerCase();
        if (!/^[0-9a-f]{1,32}$/.test(other)) {
          compareInput.setCustomValidity("a trace id is 1 to 32 hex digits");
          compareInput.reportValidity();
          return;
        }
        navigate(`/trace/${trace.traceId}...${other}`);
      },
    },
    h("label", null, "Compare with… ", compareInput),
    h("button", { type: "submit" }, "Compare"),
  );
  compareInput.addEventListener("input", () => compareInput.setCustomValidity(""));
  const warnings: HTMLElement[] = [];
  if (trace.truncated)
    warnings.push(
      h("p", { class: "tv-warning", role: "alert" }, `Truncated: the trace has more spans than the ${formatCount(trace.spans.length)} the server returned (its per-trace limit).`),
    );
  if (trace.error) warnings.push(h("p", { class: "tv-warning", role: "alert" }, `The server stopped early: ${trace.error}`));
  const orphans = trace.roots.length - (hasRoot ? 1 : 0);
  if (orphans > 0)
    warnings.push(h("p", { class: "tv-note" }, `${formatCount(orphans)} span${orphans === 1 ? "" : "s"} whose parent is not in the trace ${orphans === 1 ? "is" : "are"} shown as roots.`));

  const stat = (label: string, value: string, cls = "") => h("span", { class: `tv-stat ${cls}` }, h("span", { class: "tv-stat-label" }, label), h("span", { class: "tv-stat-value" }, value));
  const header = h(
    "header",
    { class: "tv-head" },
    h(
      "h1",
      { class: "tv-title" },
      h("span", { class: "tl-swatch", style: { background: serviceColor(rootSpan.service) } }),
      h("span", { class: "tv-root-service" }, rootSpan.service),
      ": ",
      h("span", { class: "tv-root-name" }, rootSpan.name),
      hasRoot ? null : h("span", { class: "tv-note" }, " (no root span)"),
      h("code", { class: "tv-trace-id", title: "Trace id" }, trace.traceId),
    ),
    h(
      "div",
      { class: "tv-meta" },
      stat("Started", `${formatTime(trace.startMs)} ${zoneName}`, "tv-start"),
      stat("Duration", formatDuration(trace.durationNs), "tv-duration"),
      stat("Spans", formatCount(trace.spans.length), "tv-spans"),
      stat("Services", formatCount(trace.services.length), "tv-services"),
      stat("Depth", formatCount(maxDepth + 1), "tv-depth"),
      stat("Errors", formatCount(errors), errors ? "tv-errors has-errors" : "tv-errors"),
      h("span", { class: "spacer" }),
      h("a", { class: "tv-download", href: apiURL(`/api/v3/traces/${trace.traceId}`), download: `trace-${trace.traceId}.otlp.json` }, "Download OTLP JSON"),
      compareForm,
    ),
    ...warnings,
  );

  // --- tabs and toolbar ---
  const tabButtons = tabs.map((t) =>
    h("button", { type: "button", role: "tab", class: "tv-tab", dataset: { tab: t.id }, onclick: () => setTab(t.id) }, t.label),
  );
  const findInput = h("input", {
    type: "search",
    class: "tv-find-input",
    placeholder: "Find: name, attribute value, key=value, span id  ( / )",
    "aria-label": "Find in trace",
    value: state.find,
  });
  const findCount = h("span", { class: "tv-find-count", "aria-live": "polite" });
  const prev = h("button", { type: "button", class: "tv-find-prev", title: "Previous match (Shift+Enter)", onclick: () => step(-1) }, "↑");
  const next = h("button", { type: "button", class: "tv-find-next", title: "Next match (Enter)", onclick: () => step(1) }, "↓");
  const resetZoom = h("button", { type: "button", class: "tv-reset-zoom", title: "Show the whole trace (0)", onclick: () => timeline.resetZoom() }, "Reset zoom");
  resetZoom.disabled = !timeline.zoomed();
  const expandAll = h("button", { type: "button", class: "tv-expand-all", title: "Expand every span", onclick: () => { rows.collapseBelow(-1); timeline.layoutChanged(); writeURL(); } }, "Expand all");
  const collapseKids = h("button", { type: "button", class: "tv-collapse", title: "Show only the roots' children", onclick: () => { rows.collapseBelow(1); timeline.layoutChanged(); writeURL(); } }, "Collapse");
  const legend = h("span", { class: "tv-legend" }, h("span", { class: "tv-legend-error" }, "error"), h("span", { class: "tv-legend-event" }, "event"));
  const criticalLegend = h("span", { class: "tv-legend-critical", hidden: true }, "critical path");
  legend.append(criticalLegend);
  // The causal legend: the selected span's relation to the other rows.
  const relCounts = [REL_BEFORE, REL_AFTER, REL_CONCURRENT, REL_UNKNOWN].map((code) => h("span", { class: "tv-rel-count", dataset: { code: String(code) } }));
  const relLegend = h(
    "span",
    { class: "tv-legend tv-legend-rel", hidden: true, title: "The other spans' starts against the selected span's start, from Tracer's causal analysis (vector clocks and the trace's structure)" },
    h("span", { class: "tv-legend-before" }, "◀ before ", relCounts[0]),
    h("span", { class: "tv-legend-after" }, "▶ after ", relCounts[1]),
    h("span", { class: "tv-legend-concurrent" }, "∥ concurrent ", relCounts[2]),
    h("span", { class: "tv-legend-unknown" }, "? unknown ", relCounts[3]),
  );
  const showRelLegend = (v: CausalView | null) => {
    relLegend.hidden = !v;
    if (v) [REL_BEFORE, REL_AFTER, REL_CONCURRENT, REL_UNKNOWN].forEach((code, k) => (relCounts[k].textContent = `(${v.counts[code].toLocaleString()})`));
  };
  const toolbar = h(
    "div",
    { class: "tv-toolbar" },
    h("div", { class: "tv-tabs", role: "tablist" }, ...tabButtons),
    h("div", { class: "tv-find" }, findInput, findCount, prev, next),
    h("div", { class: "tv-tl-actions" }, expandAll, collapseKids, resetZoom, legend, relLegend),
  );
  const adjustedBanner = h(
    "p",
    { class: "tv-adjusted-banner", role: "status", hidden: true },
    "Adjusted times: each service instance is shifted by its estimated clock offset. This is a view; the stored timestamps are not changed.",
  );
  const view = h("div", { class: "tv-view" }, adjustedBanner);
  const main = h("div", { class: "tv-main" }, view, details);
  const page = h("div", { class: "tv" }, header, toolbar, main);
  root.append(page);

  // --- find ---
  const showCount = () => {
    const n = state.matches.length;
    findCount.textContent = state.find ? (n ? `${state.matches.indexOf(state.current) + 1} of ${formatCount(n)}` : "no match") : "";
    findCount.dataset.count = String(n);
    findCount.dataset.query = state.find;
    prev.disabled = next.disabled = n === 0;
  };
  const runFind = () => {
    state.find = findInput.value;
    state.matches = find(trace, state.find);
    state.current = -1;
    timeline.setMatches(state.matches, -1);
    showCount();
    writeURL();
  };
  const step = (d: number) => {
    const m = state.matches;
    if (!m.length) return;
    const k = m.indexOf(state.current);
    state.current = m[k < 0 ? (d > 0 ? 0 : m.length - 1) : (k + d + m.length) % m.length];
    timeline.setMatches(m, state.current);
    showCount();
    select(state.current);
  };
  let findTimer = 0;
  findInput.addEventListener("input", () => {
    clearTimeout(findTimer);
    findTimer = window.setTimeout(runFind, trace.spans.length > 20000 ? 250 : 60);
  });
  findInput.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      clearTimeout(findTimer);
      if (findInput.value !== state.find) runFind();
      step(e.shiftKey ? -1 : 1);
    } else if (e.key === "Escape") {
      e.preventDefault();
      timeline.focus();
    }
  });

  // --- tabs ---
  let viewCleanup: Cleanup | void;
  const setTab = (t: Tab, write = true) => {
    state.tab = t;
    if (viewCleanup) viewCleanup();
    viewCleanup = undefined;
    view.replaceChildren(adjustedBanner);
    for (const b of tabButtons) {
      const on = b.dataset.tab === t;
      b.classList.toggle("active", on);
      b.setAttribute("aria-selected", String(on));
    }
    toolbar.classList.toggle("is-timeline", t === "timeline");
    adjustedBanner.hidden = !(drawnAdjusted && t === "timeline");
    if (t === "timeline") {
      view.append(timeline.el);
      timeline.schedule();
    } else if (t === "flame") {
      const el = h("div", { class: "tv-flame" });
      view.append(el);
      viewCleanup = renderFlame(el, trace, { onSelect: (s) => select(s.index, false), selected: state.selected >= 0 ? state.selected : undefined });
    } else {
      const el = h("div", { class: "tv-stats" });
      view.append(el);
      viewCleanup = renderStats(el, trace);
    }
    if (write) writeURL();
  };

  // --- keys: / finds, Esc closes ---
  const onKey = (e: KeyboardEvent) => {
    const t = e.target as HTMLElement;
    const typing = t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t.isContentEditable;
    if (e.key === "/" && !typing && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      findInput.focus();
      findInput.select();
    } else if (e.key === "Escape" && !typing && state.selected >= 0) {
      select(-1);
    }
  };
  document.addEventListener("keydown", onKey);

  setTab(state.tab, false);
  if (state.find) {
    state.matches = find(trace, state.find);
    timeline.setMatches(state.matches, -1);
  }
  showCount();
  const want = query.get("span");
  const initial = want ? trace.byId.get(want.toLowerCase()) : undefined;
  if (initial) select(initial.index);
  else writeURL();
  timeline.drawNow();
  if (initial) timeline.scrollTo(initial.index);
  timeline.drawNow();
  // The page is interactive once its first rows are on screen.
  requestAnimationFrame(() => setTimeout(() => performance.mark(MARK_INTERACTIVE, { detail: { spans: trace.spans.length } }), 0));
  if (state.tab === "timeline") timeline.focus();

  // --- clock skew: the header's warning, the adjusted view ---
  const skewSlot = h("div", { class: "tv-skew-slot" });
  header.append(skewSlot);
  let skewCtl: AbortController | null = null;
  const showSkew = (ans: SkewAnswer) => {
    const w = skewWarning(trace, ans, { onSelect: (i) => select(i), adjusted: state.adjusted, onAdjusted: setAdjusted });
    skewSlot.replaceChildren(...(w ? [w] : []));
    skewSlot.dataset.skew = ans.pairs.some((p) => p.skewed) ? "skewed" : "none";
  };
  const applyTimes = (ans: SkewAnswer | null, first: boolean) => {
    const times = state.adjusted && ans?.adjusted ? adjustedTimes(trace, ans) : recordedTimes(trace);
    timesOrigin = times.origin;
    drawnAdjusted = times.adjusted;
    timeline.setTimes(times);
    // The zoom of the URL is on the axis the page opened with (adjusted=1: the adjusted one).
    if (first && zoom) timeline.setZoom(Number(zoom[1]), Number(zoom[2]), false);
    resetZoom.disabled = !timeline.zoomed();
    adjustedBanner.hidden = !(drawnAdjusted && state.tab === "timeline");
    if (state.selected >= 0) select(state.selected, false);
    else writeURL();
  };
  const loadSkew = (first: boolean) => {
    skewCtl?.abort();
    const ctl = (skewCtl = new AbortController());
    signal.addEventListener("abort", () => ctl.abort(), { once: true });
    fetchSkew(trace, state.adjusted, ctl.signal).then(
      (ans) => {
        if (ctl.signal.aborted) return;
        showSkew(ans);
        if (state.adjusted || !first) applyTimes(ans, first);
      },
      () => {
        if (ctl.signal.aborted) return;
        // The view is complete without it; an adjusted view asked for falls back to the recorded times.
        skewSlot.dataset.skew = "error";
        if (state.adjusted) {
          skewSlot.replaceChildren(h("p", { class: "tv-warning" }, "The adjusted times are not available: the skew analysis did not answer. Showing the recorded times."));
          applyTimes(null, first);
        }
      },
    );
  };
  const setAdjusted = (on: boolean) => {
    if (on === state.adjusted) return;
    state.adjusted = on;
    writeURL();
    loadSkew(false);
  };
  loadSkew(true);

  void criticalPath(trace, signal).then((mask) => {
    if (!mask || signal.aborted) return;
    timeline.setCritical(mask);
    criticalLegend.hidden = false;
  });

  return () => {
    causal.cancel();
    skewCtl?.abort();
    clearTimeout(findTimer);
    clearTimeout(urlTimer);
    document.removeEventListener("keydown", onKey);
    if (viewCleanup) viewCleanup();
    timeline.destroy();
  };
}
