// The bottlenecks page: for a service (and optionally the root operation)
// over a time range, the operations that contribute most to the traces'
// critical paths (GET /api/tracer/bottlenecks): their time on the paths in
// total, per trace and as a share of the latency, how many traces had them
// on the path, and example traces, each opening the trace view with the
// operation's span selected. Every choice is in the URL
// (/bottlenecks?service=&operation=&lookback=&start=&end=&limit=&sort=).

import "../bottlenecks/bottlenecks.css";
import { ApiError } from "../api";
import { operations, services } from "../api/search";
import { bottlenecks, pathSpan, type Bottleneck, type BottleneckExample, type Bottlenecks } from "../bottlenecks/api";
import { rangeControl, rangeQuery, readRange, resolve, type Range } from "../bottlenecks/range";
import { bottleneckTable, defaultSort, formatShare, sortKeys, traceHref, type SortKey } from "../bottlenecks/table";
import { searchQuery } from "../dashboards/window";
import { append, clear, h, showState } from "../dom";
import { formatCount, formatDuration, formatTime, nanoToMs, zoneName } from "../format";
import { href, navigate, setQuery, type Mount, type QueryValues } from "../router";
import { serviceColor } from "../theme";

/** limits are the trace counts offered (the server's most is 1,000). */
const limits = [20, 100, 500, 1000];
const defaultLimit = 100;

interface State {
  service: string;
  operation: string;
  range: Range;
  limit: number;
  sort: SortKey;
}

function readState(q: URLSearchParams): State {
  const limit = Number(q.get("limit"));
  const sort = q.get("sort") ?? "";
  return {
    service: q.get("service") ?? "",
    operation: (q.get("service") && q.get("operation")) || "",
    range: readRange(q),
    limit: Number.isInteger(limit) && limit > 0 && limit <= 1000 ? limit : defaultLimit,
    sort: (sortKeys as readonly string[]).includes(sort) ? (sort as SortKey) : defaultSort,
  };
}

function queryOf(s: State): QueryValues {
  return {
    service: s.service,
    operation: s.operation,
    ...rangeQuery(s.range),
    limit: s.limit === defaultLimit ? undefined : s.limit,
    sort: s.sort === defaultSort ? undefined : s.sort,
  };
}

export const mount: Mount = (root, route) => {
  let state = readState(route.query);
  const toolbar = h("div", { class: "bn-toolbar", role: "toolbar", "aria-label": "Bottleneck choices" });
  const content = h("div", { class: "bn-content", dataset: { state: "loading" } });
  root.append(
    h(
      "div",
      { class: "bn-page" },
      toolbar,
      h(
        "p",
        { class: "bn-explain" },
        h("b", null, "Contribution to the critical path"),
        " is the time an operation's spans were on the chain of work that set each trace's end-to-end latency: time spent while something slower ran in parallel does not count, so speeding up an operation can shorten the traces by at most its contribution.",
      ),
      content,
    ),
  );

  let ctrl: AbortController | null = null;
  const pageCtl = new AbortController();
  let serviceList: string[] | null = null;
  let serviceErr = "";
  let opList: string[] = [];
  let opsFor = "";

  const setContent = (kind: "loading" | "empty" | "error" | "results" | "idle", msg?: string) => {
    content.dataset.state = kind;
    if (msg !== undefined && kind !== "results") showState(content, kind === "idle" ? "empty" : kind, msg);
  };

  const change = (next: Partial<State>, push = true) => {
    state = { ...state, ...next };
    setQuery(queryOf(state), !push);
    void load();
  };

  const renderToolbar = () => {
    clear(toolbar);
    const svcSel = h("select", { "aria-label": "Service", onchange: () => change({ service: svcSel.value, operation: "" }) });
    svcSel.append(h("option", { value: "" }, serviceList === null ? "Loading services…" : "Pick a service"));
    const names = new Set(serviceList ?? []);
    if (state.service) names.add(state.service);
    for (const s of [...names].sort()) svcSel.append(h("option", { value: s, selected: s === state.service }, s));

    const opSel = h("select", {
      "aria-label": "Root operation",
      disabled: !state.service,
      onchange: () => change({ operation: opSel.value }),
    });
    opSel.append(h("option", { value: "" }, "Any root operation"));
    const ops = opsFor === state.service ? opList.slice() : [];
    if (state.operation && !ops.includes(state.operation)) ops.push(state.operation);
    for (const o of ops) opSel.append(h("option", { value: o, selected: o === state.operation }, o));

    const limSel = h("select", { "aria-label": "Traces analysed", onchange: () => change({ limit: Number(limSel.value) }) });
    const lims = limits.includes(state.limit) ? limits : [...limits, state.limit].sort((a, b) => a - b);
    for (const n of lims) limSel.append(h("option", { value: String(n), selected: n === state.limit }, `${formatCount(n)} traces`));

    append(
      toolbar,
      h("label", null, "Service ", svcSel),
      h("label", { title: "Only traces whose root span has this name" }, "Root operation ", opSel),
      rangeControl(state.range, (range) => change({ range })),
      h("label", { title: "The most recent traces analysed, at most" }, "At most ", limSel),
      h("button", { type: "button", title: "Analyse again up to now", onclick: () => void load() }, "Refresh"),
      serviceErr ? h("span", { class: "range-msg" }, serviceErr) : null,
    );
  };

  const picker = () => {
    const list = serviceList ?? [];
    if (!list.length) {
      setContent("empty", "No services have sent spans yet. Send traces to Tracer's OTLP endpoint, then reload.");
      return;
    }
    setContent("idle");
    clear(content);
    content.append(
      h(
        "div",
        { class: "bn-picker", role: "status" },
        h("h2", null, "Pick a service to analyse its traces"),
        h(
          "ul",
          null,
          ...list.map((s) =>
            h(
              "li",
              null,
              h(
                "a",
                { href: href("/bottlenecks", queryOf({ ...state, service: s, operation: "" })), dataset: { service: s } },
                h("span", { class: "swatch", style: { background: serviceColor(s) } }),
                s,
              ),
            ),
          ),
        ),
      ),
    );
  };

  const load = async () => {
    ctrl?.abort();
    const c = new AbortController();
    ctrl = c;
    renderToolbar();
    if (!state.service) {
      if (serviceList === null) {
        setContent("loading", "Loading services…");
        return; // the services' answer calls load again
      }
      picker();
      return;
    }
    shown = null;
    setContent("loading", `Analysing the critical paths of up to ${formatCount(state.limit)} traces of ${state.service}…`);
    const r = resolve(state.range);
    try {
      if (opsFor !== state.service) {
        const svc = state.service;
        void operations(svc, c.signal).then(
          (ops) => {
            opList = ops.slice().sort();
            opsFor = svc;
            if (state.service === svc) renderToolbar();
          },
          () => undefined, // the menu keeps the operation of the URL
        );
      }
      const ans = await bottlenecks({ service: state.service, operation: state.operation || undefined, ...r, limit: state.limit }, c.signal);
      if (c.signal.aborted) return;
      show(ans, r);
    } catch (e) {
      if ((e as Error).name === "AbortError") return;
      setContent("error", `The bottlenecks could not be computed: ${e instanceof ApiError ? e.message : (e as Error).message}`);
    }
  };

  const exampleLink = (b: Bottleneck, e: BottleneckExample) => {
    // The link opens the trace; the operation's span on the path is looked
    // up (the trace's critical path) when the pointer or focus reaches it,
    // or on the click, so that the trace view opens with it selected.
    const a = h(
      "a",
      {
        href: traceHref(e.traceId),
        dataset: { trace: e.traceId },
        title: `Trace ${e.traceId}: ${formatDuration(e.timeNano)} of its ${formatDuration(e.latencyNano)} on ${b.operation}`,
      },
      e.traceId.slice(0, 8),
    );
    let found: Promise<string | null> | null = null;
    const lookup = () => {
      if (!found)
        found = pathSpan(e.traceId, b.service, b.operation, pageCtl.signal).then(
          (sid) => {
            if (sid) {
              a.href = traceHref(e.traceId, sid);
              a.dataset.span = sid;
            }
            return sid;
          },
          () => null,
        );
      return found;
    };
    a.addEventListener("pointerenter", () => void lookup());
    a.addEventListener("focus", () => void lookup());
    a.addEventListener("click", (ev) => {
      if (a.dataset.span || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
      ev.preventDefault();
      void lookup().then((sid) => {
        if (!pageCtl.signal.aborted) navigate(`/trace/${e.traceId}`, { span: sid ?? undefined });
      });
    });
    return h(
      "span",
      { class: "bn-example" },
      a,
      " ",
      h("span", { class: "muted" }, `${formatDuration(e.timeNano)} / ${formatDuration(e.latencyNano)}`),
    );
  };

  let shown: { ans: Bottlenecks; r: { startMs: number; endMs: number } } | null = null;
  const show = (ans: Bottlenecks, r: { startMs: number; endMs: number }) => {
    shown = { ans, r };
    const title = state.operation ? `${state.service} · ${state.operation}` : state.service;
    const range = `${formatTime(nanoToMs(ans.startTimeUnixNano))} – ${formatTime(nanoToMs(ans.endTimeUnixNano))} (${zoneName})`;
    const searchLink = h(
      "a",
      { href: href("/search", searchQuery({ service: state.service, operation: state.operation, ...r })) },
      "Traces in this range",
    );
    if (ans.tracesAnalysed === 0 || ans.operations.length === 0) {
      const why =
        ans.tracesFound === 0
          ? `No traces of ${title} in ${range}.`
          : `None of the ${formatCount(ans.tracesFound)} traces found has its root span in ${title}; pick another root operation, or none.`;
      setContent("empty", why + " A longer range may have some.");
      content.append(h("p", { class: "bn-note" }, searchLink));
      return;
    }
    setContent("results");
    clear(content);
    const notes: (HTMLElement | null)[] = [
      h(
        "p",
        { class: "bn-note", dataset: { analysed: String(ans.tracesAnalysed), found: String(ans.tracesFound) } },
        `${formatCount(ans.tracesAnalysed)} trace${ans.tracesAnalysed === 1 ? "" : "s"} analysed`,
        ans.tracesSkipped ? `, ${formatCount(ans.tracesSkipped)} skipped (their root is not ${title})` : "",
        `; their latencies sum to ${formatDuration(ans.latencyNano)}`,
        ans.gapNano > 0 ? `, of which ${formatDuration(ans.gapNano)} (${formatShare(ans.gapNano / ans.latencyNano)}) no span covered` : "",
        ". ",
        searchLink,
      ),
      ans.tracesFound >= ans.limit
        ? h("p", { class: "bn-note warn" }, `The search found the limit of ${formatCount(ans.limit)} traces: more may match, and only the most recent are analysed. Narrow the range or raise the limit.`)
        : null,
      ans.tracesTruncated
        ? h("p", { class: "bn-note warn" }, `${formatCount(ans.tracesTruncated)} trace${ans.tracesTruncated === 1 ? " was" : "s were"} larger than the server reads per trace: analysed from their first spans only.`)
        : null,
    ];
    content.append(
      h(
        "div",
        { class: "bn-head" },
        h("span", { class: "swatch", style: { background: serviceColor(state.service) } }),
        h("h2", null, `Critical path of ${title} · ${range}`),
      ),
      ...notes.filter((n): n is HTMLElement => n !== null),
      bottleneckTable({
        rows: ans.operations,
        analysed: ans.tracesAnalysed,
        sort: state.sort,
        onSort: (sort) => {
          state = { ...state, sort };
          setQuery(queryOf(state));
        },
        example: exampleLink,
        dashboard: (b) => href("/dashboards", { service: b.service, operation: b.operation, spanKind: "all", window: "1h" }),
      }),
    );
  };

  services(pageCtl.signal).then(
    (list) => {
      serviceList = list;
      serviceErr = "";
      if (!state.service) void load();
      else renderToolbar();
    },
    (e: Error) => {
      if (e.name === "AbortError") return;
      serviceList = [];
      serviceErr = `Cannot load the services: ${e.message}`;
      if (!state.service) setContent("error", serviceErr);
      renderToolbar();
    },
  );
  void load();

  // The service colours follow the theme: draw the table again.
  const onTheme = () => {
    if (shown && content.dataset.state === "results") show(shown.ans, shown.r);
  };
  window.addEventListener("tracer-theme", onTheme);

  return () => {
    ctrl?.abort();
    pageCtl.abort();
    window.removeEventListener("tracer-theme", onTheme);
  };
};
