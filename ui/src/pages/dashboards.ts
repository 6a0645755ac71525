// The dashboards: with no service chosen, an overview of every service over
// the window (requests, rate, error %, worst p99, a sparkline); with one,
// its request rate, error rate and latency p50/p95/p99 over time (for one
// operation when chosen), and its operations. A click on a chart's step
// opens the search for that step's traces. Every choice is in the URL
// (dashboards/state.ts).

import "../dashboards/dashboards.css";
import { append, h, clear, showState } from "../dom";
import { ApiError } from "../api";
import { operations, red, services, type Operation, type REDSeries } from "../api/metrics";
import { chart, type Chart, type Pick } from "../dashboards/chart";
import { columns, summarize, type Columns } from "../dashboards/red";
import { sparkline } from "../dashboards/sparkline";
import { apiKinds, kindOf, kinds, queryOf, readState, type Kind, type State } from "../dashboards/state";
import { summaryTable, type Row, type SortKey } from "../dashboards/table";
import { defaultStep, searchQuery, slots, stepsFor, totalStep, windows, type Slots } from "../dashboards/window";
import { formatDuration, formatTime, zoneName } from "../format";
import { href, navigate, setQuery, type Mount } from "../router";
import { serviceColor } from "../theme";

export const mount: Mount = (root, route) => {
  let state = readState(route.query);
  const toolbar = h("div", { class: "dash-toolbar", role: "toolbar", "aria-label": "Dashboard choices" });
  const content = h("div", { class: "dash-content" });
  root.append(h("div", { class: "dash-page" }, toolbar, content));

  let ctrl: AbortController | null = null;
  let charts: Chart[] = [];
  let serviceList: string[] | null = null;
  let opList: Operation[] | null = null;
  let opsFor = "";

  const dropCharts = () => {
    for (const c of charts) c.destroy();
    charts = [];
  };

  const change = (next: Partial<State>, push = false) => {
    state = { ...state, ...next };
    if (next.window && !next.step) state.step = defaultStep(state.window);
    setQuery(queryOf(state), !push);
    void load();
  };

  // A table's order is kept in the URL without reloading.
  const onSort = (sort: SortKey) => {
    state = { ...state, sort };
    setQuery(queryOf(state));
  };

  // The toolbar is rebuilt on each change; the control that had the focus
  // gets it back, so that keyboard use goes on where it was.
  const renderToolbar = () => {
    const active = document.activeElement;
    const focusKey = active && toolbar.contains(active) ? controlKey(active) : null;
    clear(toolbar);
    const svcSel = h("select", { "aria-label": "Service", onchange: () => change({ service: svcSel.value, operation: "" }, true) });
    svcSel.append(h("option", { value: "" }, "All services"));
    const names = new Set(serviceList ?? []);
    if (state.service) names.add(state.service);
    for (const s of [...names].sort()) svcSel.append(h("option", { value: s, selected: s === state.service }, s));

    const opSel = h("select", {
      "aria-label": "Operation",
      disabled: !state.service,
      onchange: () => {
        const op = opList?.find((o) => o.name === opSel.value);
        change({ operation: opSel.value, kind: op ? kindOf(op.spanKind) : state.kind }, true);
      },
    });
    opSel.append(h("option", { value: "" }, "All operations"));
    const ops = opsFor === state.service && opList ? [...opList] : [];
    if (state.operation && !ops.some((o) => o.name === state.operation)) ops.push({ name: state.operation, spanKind: "" });
    for (const o of ops)
      opSel.append(h("option", { value: o.name, selected: o.name === state.operation }, o.spanKind ? `${o.name} · ${o.spanKind}` : o.name));

    const kindSel = h("select", { "aria-label": "Span kind", onchange: () => change({ kind: kindSel.value as Kind }) });
    for (const k of kinds)
      kindSel.append(h("option", { value: k, selected: k === state.kind }, k === "all" ? "all kinds" : `${k} spans`));

    const winGroup = h("div", { class: "seg", role: "group", "aria-label": "Time window" });
    for (const w of windows)
      winGroup.append(
        h(
          "button",
          { type: "button", "aria-pressed": String(w === state.window), onclick: () => change({ window: w }) },
          w.name,
        ),
      );

    const stepSel = h("select", {
      "aria-label": "Step",
      onchange: () => change({ step: stepsFor(state.window).find((s) => s.name === stepSel.value) ?? state.step }),
    });
    for (const s of stepsFor(state.window))
      stepSel.append(h("option", { value: s.name, selected: s === state.step }, `${s.name} steps`));

    toolbar.append(
      h("label", null, "Service ", svcSel),
      h("label", null, "Operation ", opSel),
      h("label", null, "Kind ", kindSel),
      winGroup,
      stepSel,
      h("button", { type: "button", title: "Reload up to now", onclick: () => void load() }, "Refresh"),
    );
    if (focusKey)
      for (const el of toolbar.querySelectorAll<HTMLElement>("select, button"))
        if (controlKey(el) === focusKey) {
          el.focus();
          break;
        }
  };

  const load = async () => {
    ctrl?.abort();
    const c = new AbortController();
    ctrl = c;
    dropCharts();
    renderToolbar();
    showState(content, "loading", "Loading…");
    try {
      if (serviceList === null) {
        serviceList = await services(c.signal);
        renderToolbar();
      }
      if (state.service && opsFor !== state.service) {
        opList = await operations(state.service, c.signal);
        opsFor = state.service;
        renderToolbar();
      }
      if (state.service) await showService(c.signal);
      else await showOverview(c.signal);
    } catch (e) {
      if ((e as Error).name === "AbortError") return;
      showState(content, "error", e instanceof ApiError ? `The server answered: ${e.message}` : (e as Error).message);
    }
  };

  const kindLabel = () => (state.kind === "all" ? "spans" : `${state.kind} spans`);

  const showOverview = async (signal: AbortSignal) => {
    // The sparklines at the window's default step at the finest (one
    // series per service), the totals in one step.
    const step = state.step.ms >= defaultStep(state.window).ms ? state.step : defaultStep(state.window);
    const sl = slots(state.window, step);
    const [ans, totals] = await Promise.all([
      red({ ...sl, kinds: apiKinds(state.kind), stepMs: sl.stepMs }, signal),
      red({ ...sl, kinds: apiKinds(state.kind), stepMs: totalStep(state.window) }, signal),
    ]);
    const bySvc = new Map<string, REDSeries>();
    for (const s of ans.series) bySvc.set(s.service, s);
    const totalBySvc = new Map<string, REDSeries>();
    for (const s of totals.series) totalBySvc.set(s.service, s);
    const names = new Set([...(serviceList ?? []), ...bySvc.keys()]);
    clear(content);
    if (names.size === 0) {
      showState(content, "empty", "No services have sent spans yet.");
      return;
    }
    const rows: Row[] = [...names].sort().map((name) => {
      const s = bySvc.get(name);
      const tot = totalBySvc.get(name);
      const cols = s ? columns(s.points, sl) : null;
      return {
        name,
        service: name,
        summary: tot ? summarize(tot.points, state.window.ms) : null,
        href: href("/dashboards", queryOf({ ...state, service: name, operation: "" })),
        extra: cols ? sparkline(cols.rate, serviceColor(name)) : undefined,
      };
    });
    append(
      content,
      h("h2", null, `All services · ${kindLabel()} · last ${state.window.name}`),
      summaryTable(rows, { first: "Service", extra: "Requests over time", sort: state.sort, onSort }),
      bySvc.size === 0 && h("p", { class: "muted" }, `No ${kindLabel()} in this window; other span kinds may have some.`),
    );
  };

  const showService = async (signal: AbortSignal) => {
    const sl = slots(state.window, state.step);
    const svc = state.service;
    const base = { ...sl, services: [svc], kinds: apiKinds(state.kind), stepMs: sl.stepMs };
    const [one, byOp] = await Promise.all([
      red({ ...base, operation: state.operation || undefined }, signal),
      state.operation ? Promise.resolve(null) : red({ ...base, groupByOperation: true, stepMs: totalStep(state.window) }, signal),
    ]);
    clear(content);
    const title = state.operation ? `${svc} · ${state.operation}` : svc;
    content.append(
      h(
        "div",
        { class: "dash-head" },
        h("span", { class: "swatch", style: { background: serviceColor(svc) } }),
        h("h2", null, `${title} · ${kindLabel()} · last ${state.window.name}, ${state.step.name} steps`),
        h("span", { class: "spacer" }),
        h("a", { href: href("/search", searchQuery({ service: svc, operation: state.operation, startMs: sl.startMs, endMs: sl.endMs })) }, "Traces in this window"),
        h("a", { href: href("/dependencies", { service: svc, window: state.window.name }) }, "Dependencies"),
        h("a", { href: href("/bottlenecks", { service: svc, lookback: state.window.name }) }, "Bottlenecks"),
        h("a", { href: href("/dashboards", queryOf({ ...state, service: "", operation: "" })) }, "All services"),
      ),
    );
    const series = one.series[0];
    if (!series || series.points.length === 0) {
      content.append(
        h(
          "div",
          { class: "state state-empty", role: "status" },
          `No ${kindLabel()} of ${title} in the last ${state.window.name}. Another span kind or a longer window may have some.`,
        ),
      );
      return;
    }
    const cols = columns(series.points, sl);
    const grid = h("div", { class: "dash-charts" });
    content.append(grid, h("p", { class: "muted" }, `Click a step to see its traces. Times in ${zoneName}.`));
    const go = (extra: { minDuration?: string; status?: "error" }) => (p: Pick) => {
      const from = sl.startMs + p.index * sl.stepMs;
      navigate("/search", searchQuery({ service: svc, operation: state.operation, startMs: from, endMs: from + sl.stepMs, ...extra }));
    };
    charts = [
      chart({
        kind: "rate",
        title: "Request rate",
        cols,
        slots: sl,
        lines: [{ label: "requests/s", values: cols.rate, colorVar: "--accent" }],
        value: (v) => `${trimNum(v)}/s`,
        onPick: go({}),
      }),
      chart({
        kind: "errors",
        title: "Error rate",
        cols,
        slots: sl,
        lines: [{ label: "errors", values: cols.errorPct, colorVar: "--error" }],
        value: (v) => `${trimNum(v)}%`,
        onPick: go({ status: "error" }),
      }),
      chart({
        kind: "latency",
        title: "Latency",
        cols,
        slots: sl,
        lines: [
          { label: "p50", values: cols.p50, colorVar: "--ok" },
          { label: "p95", values: cols.p95, colorVar: "--warn" },
          { label: "p99", values: cols.p99, colorVar: "--error" },
        ],
        value: (v) => formatDuration(v * 1e6),
        onPick: (p) => go(p.value === null ? {} : { minDuration: minDuration(p.value) })(p),
      }),
    ];
    for (const c of charts) grid.append(c.el);
    content.append(stepsNote(cols, sl));
    if (byOp) {
      const kindsByOp = new Map((opList ?? []).map((o) => [o.name, o.spanKind]));
      const rows: Row[] = byOp.series.map((s) => ({
        name: s.operation ?? "",
        kind: kindsByOp.get(s.operation ?? ""),
        summary: summarize(s.points, state.window.ms),
        href: href("/dashboards", queryOf({ ...state, operation: s.operation ?? "" })),
      }));
      content.append(h("h3", null, "Operations"), summaryTable(rows, { first: "Operation", kinds: true, sort: state.sort, onSort }));
    }
  };

  void load();
  return () => {
    ctrl?.abort();
    dropCharts();
  };
};

/** controlKey names a toolbar control across rebuilds. */
function controlKey(el: Element): string {
  return el.getAttribute("aria-label") ?? el.textContent ?? "";
}

/**
 * minDuration is the search's least duration for traces near a latency
 * quantile: the histogram's quantiles are within about 6% of the true value
 * (openapi.yaml /api/tracer/red), so a little below it.
 */
function minDuration(ms: number): string {
  return `${Math.max(0, Math.floor(ms * 0.94 * 1000))}us`;
}

function trimNum(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : a >= 1 ? v.toFixed(2) : v.toPrecision(2);
}

function stepsNote(c: Columns, s: Slots): HTMLElement {
  return h(
    "p",
    { class: "muted" },
    `${c.x.length} steps from ${formatTime(s.startMs)} to ${formatTime(s.endMs)}; ${c.filled} had calls (gaps are steps without calls).`,
  );
}
