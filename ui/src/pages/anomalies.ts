// The anomalies page: what in a time window departs from a baseline before
// it (GET /api/tracer/anomalies), grouped by kind: latency outliers,
// error-rate spikes, and structure (new and disappeared calls, fan-out
// changes, operations newly on error paths). Each says what, where, since
// when and how far from normal, with example traces. Every choice is in the
// URL (/anomalies?lookback=&start=&end=&baseline=&step=&days=&service=&kind=).

import "../dashboards/common.css";
import "../bottlenecks/bottlenecks.css";
import { ApiError } from "../api";
import { services } from "../api/search";
import { anomalies, kinds, type Anomalies, type Anomaly, type Kind } from "../anomalies/api";
import { far, formatScore, groupHelp, groupTitles, what, where } from "../anomalies/describe";
import { rangeControl, rangeQuery, readRange, resolve, type Range } from "../bottlenecks/range";
import { searchQuery } from "../dashboards/window";
import { append, clear, h, showState } from "../dom";
import { formatCount, formatTime, nanoToMs, zoneName } from "../format";
import { href, setQuery, type Mount, type QueryValues } from "../router";
import { serviceColor } from "../theme";

/** The baseline lengths offered; the API's default is 6h. */
const baselines = [
  { value: "1h", label: "the hour before" },
  { value: "6h", label: "the 6 hours before" },
  { value: "24h", label: "the day before" },
  { value: "72h", label: "the 3 days before" },
  { value: "168h", label: "the week before" },
];
const defaultBaseline = "6h";
const steps = ["1m", "5m", "15m", "1h"];
const defaultStep = "1m";
const dayChoices = [0, 1, 7, 14];
const durationRe = /^\d+[mh]$/;

interface State {
  range: Range;
  baseline: string;
  step: string;
  days: number;
  service: string;
  /** shown are the kinds listed. */
  shown: Set<Kind>;
}

function readState(q: URLSearchParams): State {
  const b = q.get("baseline") ?? "";
  const st = q.get("step") ?? "";
  const days = Number(q.get("days") ?? 0);
  const ks = q.getAll("kind").filter((k): k is Kind => (kinds as readonly string[]).includes(k));
  return {
    range: readRange(q),
    baseline: durationRe.test(b) ? b : defaultBaseline,
    step: durationRe.test(st) ? st : defaultStep,
    days: Number.isInteger(days) && days >= 0 && days <= 28 ? days : 0,
    service: q.get("service") ?? "",
    shown: new Set(ks.length ? ks : kinds),
  };
}

function queryOf(s: State): QueryValues {
  return {
    ...rangeQuery(s.range),
    baseline: s.baseline === defaultBaseline ? undefined : s.baseline,
    step: s.step === defaultStep ? undefined : s.step,
    days: s.days || undefined,
    service: s.service,
    kind: s.shown.size === kinds.length ? undefined : kinds.filter((k) => s.shown.has(k)),
  };
}

function durMs(d: string): number {
  const n = Number(d.slice(0, -1));
  return n * (d.endsWith("h") ? 3600e3 : 60e3);
}

/** shortTime shows a time of today as its clock time, else in full. */
function shortTime(ms: number): string {
  const d = new Date(ms);
  if (d.toDateString() === new Date().toDateString())
    return d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  return formatTime(ms);
}

export const mount: Mount = (root, route) => {
  let state = readState(route.query);
  let answer: Anomalies | null = null;
  const toolbar = h("div", { class: "bn-toolbar", role: "toolbar", "aria-label": "Anomaly choices" });
  const kindBar = h("div", { class: "an-kinds", role: "group", "aria-label": "Kinds shown" });
  const content = h("div", { class: "an-content", dataset: { state: "loading" } });
  root.append(
    h(
      "div",
      { class: "an-page" },
      toolbar,
      h(
        "p",
        { class: "bn-explain" },
        "Compares the window with a baseline just before it (or with the same window on previous days, for a daily pattern): latency and error rates per operation from the request metrics, calls between services from the service graph, and structure from a sample of the most recent traces of each window. Scores are in standard deviations of the baseline's robust spread.",
      ),
      kindBar,
      content,
    ),
  );

  let ctrl: AbortController | null = null;
  const pageCtl = new AbortController();
  let serviceList: string[] | null = null;

  const setContent = (kind: "loading" | "empty" | "error" | "results", msg?: string) => {
    content.dataset.state = kind;
    if (msg !== undefined) showState(content, kind === "results" ? "empty" : kind, msg);
  };

  const change = (next: Partial<State>, reload = true) => {
    state = { ...state, ...next };
    setQuery(queryOf(state), !reload);
    if (reload) void load();
    else render();
  };

  const renderToolbar = () => {
    clear(toolbar);
    const svcSel = h("select", { "aria-label": "Service", onchange: () => change({ service: svcSel.value }) });
    svcSel.append(h("option", { value: "" }, "All services"));
    const names = new Set(serviceList ?? []);
    if (state.service) names.add(state.service);
    for (const s of [...names].sort()) svcSel.append(h("option", { value: s, selected: s === state.service }, s));

    const baseSel = h("select", { "aria-label": "Baseline", onchange: () => change({ baseline: baseSel.value }) });
    const bs = baselines.some((b) => b.value === state.baseline) ? baselines : [...baselines, { value: state.baseline, label: `the ${state.baseline} before` }];
    for (const b of bs) baseSel.append(h("option", { value: b.value, selected: b.value === state.baseline }, b.label));

    const stepSel = h("select", { "aria-label": "Step", onchange: () => change({ step: stepSel.value }) });
    const ss = steps.includes(state.step) ? steps : [...steps, state.step];
    for (const s of ss) stepSel.append(h("option", { value: s, selected: s === state.step }, `${s} steps`));

    const daySel = h("select", { "aria-label": "Daily pattern", onchange: () => change({ days: Number(daySel.value) }) });
    const ds = dayChoices.includes(state.days) ? dayChoices : [...dayChoices, state.days].sort((a, b) => a - b);
    for (const d of ds)
      daySel.append(
        h(
          "option",
          { value: String(d), selected: d === state.days },
          d === 0 ? "the baseline window" : `the same time on the previous ${d === 1 ? "day" : `${d} days`}`,
        ),
      );

    append(
      toolbar,
      h("span", { class: "muted" }, "Window"),
      rangeControl(state.range, (range) => change({ range }), "Window"),
      h("label", { title: "The baseline: the window of this length just before the one judged" }, "against ", baseSel),
      h("label", { title: "Latency and error rates are judged step by step; a quiet operation wants wider steps (20 calls make a step)" }, stepSel),
      h("label", { title: "Compare latency and error rates with the same window on previous days, so that a daily pattern is normal" }, "Latency and errors vs ", daySel),
      h("label", null, "Service ", svcSel),
      h("button", { type: "button", title: "Look again up to now", onclick: () => void load() }, "Refresh"),
    );
  };

  const renderKinds = () => {
    clear(kindBar);
    for (const k of kinds) {
      const n = answer ? answer.anomalies.filter((a) => a.kind === k).length : null;
      const box = h("input", {
        type: "checkbox",
        checked: state.shown.has(k),
        dataset: { kind: k },
        onchange: () => {
          const shown = new Set(state.shown);
          if (box.checked) shown.add(k);
          else shown.delete(k);
          change({ shown }, false);
        },
      });
      kindBar.append(
        h(
          "label",
          { class: state.shown.has(k) ? "" : "off", title: groupHelp[k] },
          box,
          groupTitles[k],
          n === null ? null : h("span", { class: "n" }, String(n)),
        ),
      );
    }
  };

  const load = async () => {
    ctrl?.abort();
    const c = new AbortController();
    ctrl = c;
    renderToolbar();
    answer = null;
    renderKinds();
    setContent("loading", "Looking for anomalies…");
    const r = resolve(state.range);
    try {
      const ans = await anomalies(
        { ...r, baseline: state.baseline, step: state.step, days: state.days, service: state.service || undefined },
        c.signal,
      );
      if (c.signal.aborted) return;
      answer = ans;
      render();
    } catch (e) {
      if ((e as Error).name === "AbortError") return;
      setContent("error", `The anomalies could not be computed: ${e instanceof ApiError ? e.message : (e as Error).message}`);
    }
  };

  const item = (a: Anomaly, stepMs: number) => {
    const since = nanoToMs(a.sinceUnixNano);
    const last = nanoToMs(a.lastUnixNano);
    const red = a.kind === "latency" || a.kind === "errors";
    const until = red ? last + stepMs : last;
    const svc = a.edge ? a.edge.parentService : a.service;
    const op = a.edge ? a.edge.childOperation ?? "" : a.operation ?? "";
    const links: HTMLElement[] = [];
    if (a.operation && !a.edge) {
      links.push(
        h(
          "a",
          {
            href: href(
              "/search",
              searchQuery({
                service: a.service,
                operation: a.operation,
                startMs: since,
                endMs: Math.max(until, since + 1),
                minDuration: a.kind === "latency" && a.current > a.baseline ? `${Math.floor(a.baseline / 1000)}us` : undefined,
                status: a.kind === "errors" || a.kind === "error-path" ? "error" : undefined,
              }),
            ),
          },
          "Traces",
        ),
        h("a", { href: href("/dashboards", { service: a.service, operation: a.operation, spanKind: "all", window: "6h" }) }, "Dashboard"),
      );
      if (a.kind === "latency")
        links.push(
          h(
            "a",
            { href: href("/bottlenecks", { service: a.service, lookback: "custom", start: String(Math.floor(since) * 1000), end: String(Math.ceil(until) * 1000) }) },
            "Bottlenecks",
          ),
        );
    } else if (a.edge) links.push(h("a", { href: href("/dependencies", { service: a.edge.parentService, window: "6h" }) }, "Dependencies"));
    const dir = a.score >= 0 ? "up" : "down";
    return h(
      "li",
      {
        class: "an-item",
        dataset: {
          kind: a.kind,
          direction: dir,
          service: a.service,
          operation: a.operation ?? "",
          parent: a.edge ? `${a.edge.parentService}|${a.edge.parentOperation ?? ""}` : "",
          child: a.edge ? `${a.edge.childService}|${a.edge.childOperation ?? ""}` : "",
          since: a.sinceUnixNano,
          last: a.lastUnixNano,
          score: String(a.score),
          baseline: String(a.baseline),
          current: String(a.current),
          count: String(a.count),
          examples: a.examples.join(","),
        },
      },
      h(
        "div",
        null,
        h("span", { class: "an-what" }, what(a)),
        " · ",
        h("span", { class: "swatch", style: { background: serviceColor(svc) } }),
        h("span", { class: "an-where" }, where(a)),
      ),
      h("div", { class: "an-score", title: "How far from normal, in standard deviations of the baseline's robust spread" }, formatScore(a.score)),
      h("div", { class: "an-far" }, far(a)),
      h("div", { class: "an-links" }, ...links),
      h(
        "div",
        { class: "an-when" },
        red
          ? `since ${shortTime(since)}, ${Math.round((until - since) / stepMs)} step${until - since > stepMs ? "s" : ""} to ${shortTime(until)}`
          : a.edge && !a.edge.parentOperation
            ? `over the window ${shortTime(since)} – ${shortTime(last)}`
            : `first seen ${shortTime(since)}, last seen ${shortTime(last)} in the sampled traces`,
      ),
      h(
        "div",
        { class: "an-examples" },
        a.examples.length ? h("span", { class: "muted" }, "Examples:") : h("span", { class: "muted" }, "No example in the sampled traces"),
        ...a.examples.map((id) =>
          h("a", { href: href(`/trace/${id}`, { uiFind: op || undefined }), dataset: { trace: id }, title: `Trace ${id}` }, id.slice(0, 12)),
        ),
      ),
    );
  };

  const render = () => {
    renderKinds();
    if (!answer) return;
    const ans = answer;
    const range = `${formatTime(nanoToMs(ans.startTimeUnixNano))} – ${formatTime(nanoToMs(ans.endTimeUnixNano))}`;
    const baseRange = `${formatTime(nanoToMs(ans.baselineStartTimeUnixNano))} – ${formatTime(nanoToMs(ans.startTimeUnixNano))}`;
    const against = state.days
      ? `latency and errors against the same window on the previous ${state.days === 1 ? "day" : `${state.days} days`}, structure against ${baseRange}`
      : `against ${baseRange}`;
    const head = h(
      "p",
      { class: "bn-note", dataset: { count: String(ans.anomalies.length) } },
      `${formatCount(ans.anomalies.length)} anomal${ans.anomalies.length === 1 ? "y" : "ies"}${state.service ? ` of ${state.service}` : ""} in ${range} (${zoneName}), ${against}, at ${state.step} steps.`,
    );
    if (ans.anomalies.length === 0) {
      setContent("empty", `Nothing departs from the baseline${state.service ? ` for ${state.service}` : ""} in ${range} (${zoneName}). Quiet operations want wider steps: a step needs 20 calls to be judged.`);
      return;
    }
    const visible = ans.anomalies.filter((a) => state.shown.has(a.kind));
    setContent("results");
    clear(content);
    content.append(head);
    if (visible.length === 0) {
      content.append(h("div", { class: "state state-empty", role: "status" }, `All ${formatCount(ans.anomalies.length)} are of kinds not shown: tick a kind above.`));
      return;
    }
    const hidden = ans.anomalies.length - visible.length;
    if (hidden) content.append(h("p", { class: "bn-note" }, `${formatCount(hidden)} of kinds not shown.`));
    const stepMs = ans.stepNano / 1e6 || durMs(state.step);
    for (const k of kinds) {
      if (!state.shown.has(k)) continue;
      const of = visible.filter((a) => a.kind === k);
      if (!of.length) continue;
      content.append(
        h(
          "section",
          { class: "an-group", dataset: { kind: k }, "aria-label": groupTitles[k] },
          h("h3", null, groupTitles[k], h("span", { class: "muted" }, `${of.length} · ${groupHelp[k]}`)),
          h("ul", { class: "an-list" }, ...of.map((a) => item(a, stepMs))),
        ),
      );
    }
  };

  services(pageCtl.signal).then(
    (list) => {
      serviceList = list;
      renderToolbar();
    },
    () => undefined, // the menu offers the service of the URL only
  );
  void load();

  // The service colours follow the theme: draw the list again.
  const onTheme = () => {
    if (answer) render();
  };
  window.addEventListener("tracer-theme", onTheme);

  return () => {
    ctrl?.abort();
    pageCtl.abort();
    window.removeEventListener("tracer-theme", onTheme);
  };
};
