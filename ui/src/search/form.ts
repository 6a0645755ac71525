// The search form: service and operation from the API, tags, status,
// durations, time range (presets or a custom range in the viewer's zone)
// and limit. It reads back into a State; the page puts that in the URL.

import { operations } from "../api/search";
import { h } from "../dom";
import { zoneName } from "../format";
import { formatTags, lookbacks, maxLimit, parseTags, type State, type Status } from "./query";
import { tagsField } from "./tags";

export interface SearchForm {
  el: HTMLFormElement;
  /** setServices fills the service list (keeping the chosen one). */
  setServices(list: string[]): void;
  /** servicesFailed says the list could not be loaded. */
  servicesFailed(message: string): void;
  /** read is the state the form shows (sort and fixed range carried from base). */
  read(base: State): State;
  /** setRange shows a custom range (unix ms). */
  setRange(fromMs: number, toMs: number): void;
  /** chooseService picks a service (from the service picker). */
  chooseService(service: string): void;
  destroy(): void;
}

/** localInput is a time (unix ms) as a datetime-local input's value, in the viewer's zone. */
function localInput(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function field(label: string, forId: string, control: HTMLElement, hint?: string): HTMLElement {
  return h(
    "div",
    { class: "field" },
    h("label", { for: forId }, label),
    control,
    hint ? h("span", { class: "hint" }, hint) : null,
  );
}

/** searchForm makes the form for state s; onSubmit runs on Enter or the button. */
export function searchForm(s: State, onSubmit: () => void): SearchForm {
  const service = h("select", { id: "search-service", name: "service" });
  const operation = h("select", { id: "search-operation", name: "operation" });
  let wantOperation = s.operation;
  let opsCtl: AbortController | null = null;
  const tags = tagsField(formatTags(s.tags), () => service.value);
  const status = h(
    "select",
    { id: "search-status", name: "status" },
    h("option", { value: "" }, "Any"),
    h("option", { value: "error" }, "Error"),
    h("option", { value: "ok" }, "OK"),
  );
  status.value = s.status;
  const minDuration = h("input", {
    id: "search-min-duration",
    name: "minDuration",
    type: "text",
    value: s.minDuration,
    placeholder: "e.g. 100ms",
    spellcheck: false,
  });
  const maxDuration = h("input", {
    id: "search-max-duration",
    name: "maxDuration",
    type: "text",
    value: s.maxDuration,
    placeholder: "e.g. 1.5s",
    spellcheck: false,
  });
  const lookback = h("select", { id: "search-lookback", name: "lookback" });
  const presets = lookbacks.slice();
  if (s.lookback !== "custom" && !presets.some((p) => p.value === s.lookback))
    presets.push({ value: s.lookback, label: `Last ${s.lookback}` });
  for (const p of presets) lookback.append(h("option", { value: p.value }, p.label));
  lookback.append(h("option", { value: "custom" }, "Custom range…"));
  lookback.value = s.lookback;
  const now = Date.now();
  const from = h("input", {
    id: "search-from",
    name: "from",
    type: "datetime-local",
    value: localInput(s.lookback === "custom" && s.startUs !== null ? s.startUs / 1000 : now - 3600e3),
  });
  const to = h("input", {
    id: "search-to",
    name: "to",
    type: "datetime-local",
    value: localInput(s.lookback === "custom" && s.endUs !== null ? s.endUs / 1000 : now),
  });
  const custom = h(
    "div",
    { class: "custom-range", hidden: s.lookback !== "custom" },
    field("From", "search-from", from),
    field("To", "search-to", to),
    h("span", { class: "hint" }, `Times in ${zoneName}`),
  );
  lookback.addEventListener("change", () => {
    custom.hidden = lookback.value !== "custom";
  });
  const limit = h("input", {
    id: "search-limit",
    name: "limit",
    type: "number",
    min: "1",
    max: String(maxLimit),
    value: String(s.limit),
  });
  const serviceNote = h("span", { class: "hint" });

  function fillOperations(list: string[]): void {
    operation.replaceChildren(h("option", { value: "" }, "All operations"));
    const all = list.slice();
    if (wantOperation && !all.includes(wantOperation)) all.unshift(wantOperation);
    for (const op of all) operation.append(h("option", { value: op }, op));
    operation.value = wantOperation;
  }

  async function loadOperations(): Promise<void> {
    opsCtl?.abort();
    const svc = service.value;
    fillOperations([]);
    if (!svc) return;
    const c = (opsCtl = new AbortController());
    operation.disabled = true;
    try {
      const list = await operations(svc, c.signal);
      if (!c.signal.aborted) fillOperations(list);
    } catch (e) {
      if ((e as Error).name === "AbortError") return;
      serviceNote.textContent = `Cannot load the operations: ${(e as Error).message}`;
    } finally {
      if (!c.signal.aborted) operation.disabled = false;
    }
  }

  service.append(h("option", { value: s.service }, s.service || "Loading services…"));
  service.addEventListener("change", () => {
    wantOperation = "";
    void loadOperations();
  });
  operation.addEventListener("change", () => (wantOperation = operation.value));
  fillOperations([]);

  const form = h(
    "form",
    {
      class: "search-form",
      "aria-label": "Search traces",
      onsubmit: (e: Event) => {
        e.preventDefault();
        onSubmit();
      },
    },
    field("Service", "search-service", service),
    serviceNote,
    field("Operation", "search-operation", operation),
    field("Tags", "search-tags", tags.el, "key=value, separated by spaces"),
    field("Status", "search-status", status, "Error or OK: a span's status"),
    h(
      "div",
      { class: "field-row" },
      field("Min duration", "search-min-duration", minDuration),
      field("Max duration", "search-max-duration", maxDuration),
    ),
    field("Time range", "search-lookback", lookback),
    custom,
    field("Limit", "search-limit", limit),
    h("button", { type: "submit", class: "primary", id: "search-submit" }, "Find traces"),
  );

  return {
    el: form,
    setServices(list) {
      const chosen = service.value;
      const all = list.slice();
      if (chosen && !all.includes(chosen)) all.unshift(chosen);
      service.replaceChildren(
        h("option", { value: "" }, "All services"),
        ...all.map((sv) => h("option", { value: sv }, sv)),
      );
      service.value = chosen;
      serviceNote.textContent = list.length ? "" : "No services have sent spans yet.";
      void loadOperations();
    },
    servicesFailed(message) {
      serviceNote.textContent = `Cannot load the services: ${message}`;
    },
    read(base) {
      const lb = lookback.value;
      let startUs = base.startUs;
      let endUs = base.endUs;
      if (lb === "custom") {
        startUs = new Date(from.value).getTime() * 1000;
        endUs = new Date(to.value).getTime() * 1000;
        if (!Number.isFinite(startUs)) startUs = null;
        if (!Number.isFinite(endUs)) endUs = null;
      }
      const n = Number(limit.value);
      return {
        ...base,
        service: service.value,
        operation: operation.value,
        tags: parseTags(tags.input.value),
        status: status.value as Status,
        minDuration: minDuration.value.trim(),
        maxDuration: maxDuration.value.trim(),
        lookback: lb,
        startUs,
        endUs,
        limit: Number.isInteger(n) && n > 0 ? n : base.limit,
      };
    },
    setRange(fromMs, toMs) {
      lookback.value = "custom";
      custom.hidden = false;
      from.value = localInput(fromMs);
      // datetime-local holds minutes: round the end up so the range is kept.
      to.value = localInput(Math.ceil(toMs / 60e3) * 60e3);
    },
    chooseService(sv) {
      if (![...service.options].some((o) => o.value === sv)) service.append(h("option", { value: sv }, sv));
      service.value = sv;
      wantOperation = "";
      void loadOperations();
    },
    destroy() {
      opsCtl?.abort();
      tags.destroy();
    },
  };
}
