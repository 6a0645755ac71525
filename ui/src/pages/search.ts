// The search page: the form on the left; on the right the traces found, as
// a duration-over-time scatter plot and a sortable list. The URL holds
// every choice (search/query.ts), so a link reopens the same results and
// Back returns to the previous search. The search runs on load when the URL
// holds one; a bare /search offers the services to pick from.
//
// For the browser tests the page exposes window.__tracerSearch while it is
// mounted (see SearchHook): the ids in the list's order and the points
// uPlot holds, which the virtual list and the canvas do not show in the DOM.

import { services, traceSummaries, type TraceSummary } from "../api/search";
import { ApiError } from "../api";
import { clear, h, showState } from "../dom";
import { formatCount, formatTime, nanoToMs, zoneName } from "../format";
import { href, navigate, setQuery, type Mount } from "../router";
import { serviceColor } from "../theme";
import { searchForm } from "../search/form";
import { fixRange, fromQuery, isSearch, sortLabels, sorts, summaryQuery, toQuery, type Sort, type State } from "../search/query";
import { resultsList, sortRows, type Row } from "../search/results";
import { scatter } from "../search/scatter";
import "../search/search.css";

/** SearchHook is window.__tracerSearch, read by e2e/ui_search_test.go. */
export interface SearchHook {
  /** "idle" (no search), "loading", "results", "empty" or "error". */
  state: string;
  /** The found trace ids in the list's order. */
  ids(): string[];
  /** The points in the scatter plot's uPlot data: traces without and with errors. */
  points(): { ok: number; error: number };
  /** Where a trace's point is in the plot, in client coordinates (to hover and click it). */
  pointAt(traceId: string): { x: number; y: number } | null;
  /** How many searches have finished (with results, none, or an error). */
  done: number;
  /** performance.now() when the page mounted, when the last results were drawn, and how long their request took (ms). */
  mountedAt: number;
  renderedAt: number;
  fetchMs: number;
  /** How long the last results' steps took (ms): rows (parse times, sort), list, plot. */
  phases: Record<string, number>;
}

declare global {
  interface Window {
    __tracerSearch?: SearchHook;
  }
}

export const mount: Mount = (root, route) => {
  // The Jaeger UI's /search?traceID=a&traceID=b lists those traces; one or
  // two open here as the trace or the comparison.
  const ids = route.query.getAll("traceID").filter((id) => /^[0-9a-fA-F]{1,32}$/.test(id));
  if (ids.length === 1 || ids.length === 2) {
    navigate(`/trace/${ids.join("...")}`, undefined, { replace: true });
    return;
  }
  let state: State = fromQuery(route.query);
  let rows: Row[] = [];
  let ctl: AbortController | null = null;
  const pageCtl = new AbortController();

  const hook: SearchHook = {
    state: "idle",
    ids: () => rows.map((r) => r.s.traceId),
    points: () => plot.counts(),
    pointAt: (id) => plot.pointAt(id),
    done: 0,
    mountedAt: performance.now(),
    renderedAt: 0,
    fetchMs: 0,
    phases: {},
  };
  window.__tracerSearch = hook;

  const form = searchForm(state, submit);
  const summary = h("div", { class: "results-summary", role: "status" });
  const sortSelect = h(
    "select",
    { id: "search-sort", "aria-label": "Sort" },
    ...sorts.map((s) => h("option", { value: s }, sortLabels[s])),
  );
  sortSelect.value = state.sort;
  sortSelect.addEventListener("change", () => resort(sortSelect.value as Sort));
  const compare = h("a", { class: "button compare", "aria-disabled": "true" }, "Compare");
  const compareNote = h("span", { class: "hint" }, "Tick two to compare");
  const toolbar = h(
    "div",
    { class: "results-toolbar", hidden: true },
    summary,
    h("span", { class: "spacer" }),
    compareNote,
    compare,
    h("label", { for: "search-sort", class: "sr-only" }, "Sort"),
    sortSelect,
  );
  const stateBox = h("div", { class: "results-state" });
  const plot = scatter(
    (id) => navigate(`/trace/${id}`),
    (fromMs, toMs) => {
      // Dragging across the plot searches that range: a Back step.
      state = { ...state, lookback: "custom", startUs: fromMs * 1000, endUs: toMs * 1000 };
      form.setRange(fromMs, toMs);
      setQuery(toQuery(state), false);
      void run();
    },
  );
  const list = resultsList(resort, (ids) => {
    if (ids.length === 2) {
      compare.setAttribute("href", href(`/trace/${ids[0]}...${ids[1]}`));
      compare.removeAttribute("aria-disabled");
      compareNote.textContent = "";
    } else {
      compare.removeAttribute("href");
      compare.setAttribute("aria-disabled", "true");
      compareNote.textContent = ids.length ? "Tick one more" : "Tick two to compare";
    }
  }, (id) => plot.highlight(id));
  const results = h("div", { class: "results", hidden: true }, plot.el, list.el);
  const right = h("section", { class: "search-results", "aria-label": "Results" }, toolbar, stateBox, results);
  root.append(h("div", { class: "search-page" }, h("aside", { class: "search-side" }, form.el), right));

  function setState(kind: "loading" | "empty" | "error" | "results" | "idle"): void {
    hook.state = kind;
    results.hidden = kind !== "results";
    toolbar.hidden = kind !== "results";
    if (kind === "results" || kind === "idle") clear(stateBox);
  }

  function submit(): void {
    state = fixRange(form.read(state), Date.now());
    setQuery(toQuery(state), false);
    void run();
  }

  function resort(s: Sort): void {
    state = { ...state, sort: s };
    sortSelect.value = s;
    setQuery(toQuery(state));
    sortRows(rows, s);
    list.show(rows, s);
  }

  async function run(): Promise<void> {
    ctl?.abort();
    const c = (ctl = new AbortController());
    setState("loading");
    showState(stateBox, "loading", "Searching…");
    const t0 = performance.now();
    let found: TraceSummary[];
    try {
      found = await traceSummaries(summaryQuery(state), c.signal);
    } catch (e) {
      if ((e as Error).name === "AbortError") return;
      setState("error");
      const msg = e instanceof ApiError ? e.message : String(e);
      showState(stateBox, "error", `The search failed: ${msg}`);
      hook.done++;
      return;
    }
    if (c.signal.aborted) return;
    const t1 = performance.now();
    hook.fetchMs = t1 - t0;
    if (!found.length) {
      rows = [];
      setState("empty");
      showState(stateBox, "empty", "No traces match this search in this time range.");
      hook.done++;
      return;
    }
    rows = found.map((s) => ({ s, startMs: nanoToMs(s.startTimeUnixNano) }));
    sortRows(rows, state.sort);
    const t2 = performance.now();
    setState("results");
    summary.replaceChildren(
      `${formatCount(rows.length)} trace${rows.length === 1 ? "" : "s"}`,
      h("span", { class: "range" }, rangeText()),
    );
    list.show(rows, state.sort);
    const t3 = performance.now();
    plot.show(rows);
    hook.renderedAt = performance.now();
    hook.phases = { rows: t2 - t1, list: t3 - t2, plot: hook.renderedAt - t3 };
    performance.mark("tracer:search-results");
    hook.done++;
  }

  function rangeText(): string {
    if (state.startUs === null) return "";
    const end = state.endUs !== null ? formatTime(state.endUs / 1000) : "now";
    return `${formatTime(state.startUs / 1000)} – ${end} (${zoneName})`;
  }

  /** picker shows the services to search, for a bare /search. */
  function picker(list: string[]): void {
    if (hook.state !== "idle") return;
    clear(stateBox);
    if (!list.length) {
      showState(stateBox, "empty", "No services have sent spans yet. Send traces to Tracer's OTLP endpoint, then reload.");
      return;
    }
    stateBox.append(
      h(
        "div",
        { class: "service-picker" },
        h("h2", null, "Pick a service"),
        h(
          "ul",
          { class: "service-list" },
          ...list.map((sv) =>
            h(
              "li",
              null,
              h(
                "button",
                {
                  type: "button",
                  dataset: { service: sv },
                  onclick: () => {
                    form.chooseService(sv);
                    submit();
                  },
                },
                h("span", { class: "dot", style: { background: serviceColor(sv) } }),
                sv,
              ),
            ),
          ),
        ),
      ),
    );
  }

  const auto = isSearch(route.query);
  if (auto) {
    // A link with a preset and no range searches up to now.
    if (state.startUs === null) state = fixRange(state, Date.now());
    void run();
  } else showState(stateBox, "loading", "Loading services…");

  services(pageCtl.signal).then(
    (list) => {
      form.setServices(list);
      if (!auto) picker(list);
    },
    (e: Error) => {
      if (e.name === "AbortError") return;
      form.servicesFailed(e.message);
      if (!auto) showState(stateBox, "error", `Cannot load the services: ${e.message}`);
    },
  );

  const onTheme = () => {
    list.redraw();
    plot.rebuild();
  };
  window.addEventListener("tracer-theme", onTheme);

  return () => {
    ctl?.abort();
    pageCtl.abort();
    window.removeEventListener("tracer-theme", onTheme);
    form.destroy();
    list.destroy();
    plot.destroy();
    if (window.__tracerSearch === hook) delete window.__tracerSearch;
  };
};
