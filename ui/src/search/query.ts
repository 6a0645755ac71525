// The search page's state, read from and written to the URL. The parameter
// names and forms are the Jaeger UI's (its SearchTracePage/SearchForm.tsx
// buildSearchQuery and utils/time-range-options.ts), so a search link from
// the Jaeger UI opens the same search here: service, operation, tags (a JSON
// object, as Jaeger writes it, or logfmt), minDuration, maxDuration (Go
// durations), lookback (15m, 1h, ... or custom), start and end (unix
// microseconds), limit. Tracer adds status and sort.

import type { SummaryQuery } from "../api/search";
import type { QueryValues } from "../router";

export type Status = "" | "error" | "ok";

/** Sort is the order of the results; the Jaeger UI's OrderBy values, shortened. */
export type Sort =
  | "recent"
  | "oldest"
  | "longest"
  | "shortest"
  | "most-spans"
  | "fewest-spans"
  | "most-errors"
  | "fewest-errors";

export const sorts: readonly Sort[] = [
  "recent",
  "oldest",
  "longest",
  "shortest",
  "most-spans",
  "fewest-spans",
  "most-errors",
  "fewest-errors",
];

export const sortLabels: Record<Sort, string> = {
  recent: "Most recent",
  oldest: "Oldest first",
  longest: "Longest first",
  shortest: "Shortest first",
  "most-spans": "Most spans",
  "fewest-spans": "Fewest spans",
  "most-errors": "Most errors",
  "fewest-errors": "Fewest errors",
};

/** The time range presets, as lookback values. */
export const lookbacks: readonly { value: string; label: string }[] = [
  { value: "15m", label: "Last 15 minutes" },
  { value: "1h", label: "Last hour" },
  { value: "6h", label: "Last 6 hours" },
  { value: "24h", label: "Last 24 hours" },
  { value: "2d", label: "Last 2 days" },
  { value: "7d", label: "Last 7 days" },
];

export const defaultLookback = "1h";
export const defaultLimit = 20;
/** The server's default maximum limit (openapi.yaml trace-summaries limit). */
export const maxLimit = 1500;

export type Tag = [key: string, value: string];

/** State is every choice of the search page. */
export interface State {
  service: string;
  operation: string;
  tags: Tag[];
  status: Status;
  minDuration: string;
  maxDuration: string;
  /** A lookback ("1h") or "custom". */
  lookback: string;
  /** The range in unix microseconds, when the URL fixes it (always for custom). */
  startUs: number | null;
  endUs: number | null;
  limit: number;
  sort: Sort;
}

/** searchKeys are the parameters that make a URL a search to run on load. */
const searchKeys = ["service", "operation", "tags", "status", "minDuration", "maxDuration", "start"];

/** isSearch tells whether the URL holds a search (else the page offers the services). */
export function isSearch(q: URLSearchParams): boolean {
  return searchKeys.some((k) => (q.get(k) ?? "") !== "");
}

const lookbackRe = /^(\d+)([smhdw])$/;

/** lookbackMs is a lookback's length, or NaN when it is not one. */
export function lookbackMs(lookback: string): number {
  const m = lookback.match(lookbackRe);
  if (!m) return NaN;
  const unit = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 }[m[2]]!;
  return Number(m[1]) * unit;
}

function intParam(s: string | null): number | null {
  if (!s || !/^\d+$/.test(s)) return null;
  return Number(s);
}

/** fromQuery reads the state from the URL's query; anything unreadable is left at its default. */
export function fromQuery(q: URLSearchParams): State {
  let tags = parseTags(q.get("tags") ?? "");
  let status: Status = q.get("status") === "error" ? "error" : q.get("status") === "ok" ? "ok" : "";
  // The Jaeger UI searches errors with the tag error=true (Jaeger's stores
  // read it as the span status): here that is the status filter.
  const err = tags.find(([k]) => k === "error");
  if (err && (err[1] === "true" || err[1] === "false") && !status) {
    status = err[1] === "true" ? "error" : "ok";
    tags = tags.filter(([k]) => k !== "error");
  }
  let lookback = q.get("lookback") ?? defaultLookback;
  if (lookback !== "custom" && Number.isNaN(lookbackMs(lookback))) lookback = defaultLookback;
  const startUs = intParam(q.get("start"));
  const endUs = intParam(q.get("end"));
  if (lookback === "custom" && startUs === null) lookback = defaultLookback;
  const limit = intParam(q.get("limit"));
  const sort = q.get("sort") as Sort | null;
  return {
    service: q.get("service") ?? "",
    operation: q.get("operation") ?? "",
    tags,
    status,
    minDuration: q.get("minDuration") ?? "",
    maxDuration: q.get("maxDuration") ?? "",
    lookback,
    startUs,
    endUs,
    limit: limit && limit > 0 ? limit : defaultLimit,
    sort: sort && sorts.includes(sort) ? sort : "recent",
  };
}

/** toQuery is the URL query of a state (the Jaeger UI's parameter forms). */
export function toQuery(s: State): QueryValues {
  return {
    service: s.service,
    operation: s.operation,
    tags: s.tags.length ? JSON.stringify(Object.fromEntries(s.tags)) : undefined,
    status: s.status,
    minDuration: s.minDuration,
    maxDuration: s.maxDuration,
    lookback: s.lookback,
    start: s.startUs ?? undefined,
    end: s.endUs ?? undefined,
    limit: s.limit,
    sort: s.sort === "recent" ? undefined : s.sort,
  };
}

/**
 * fixRange sets the state's range from its lookback at now (unix ms), as the
 * Jaeger UI does on submit, so that the link reproduces the same results.
 * A custom range is kept.
 */
export function fixRange(s: State, nowMs: number): State {
  if (s.lookback === "custom" && s.startUs !== null) return s;
  let ms = lookbackMs(s.lookback);
  if (Number.isNaN(ms)) ms = lookbackMs(defaultLookback);
  return { ...s, startUs: Math.floor((nowMs - ms) * 1000), endUs: Math.floor(nowMs * 1000) };
}

/** summaryQuery is the API query of a state whose range is fixed (fixRange). */
export function summaryQuery(s: State): SummaryQuery {
  return {
    service: s.service || undefined,
    operation: s.operation || undefined,
    status: s.status || undefined,
    attr: s.tags.map(([k, v]) => `${k}:${v}`),
    minDuration: s.minDuration || undefined,
    maxDuration: s.maxDuration || undefined,
    start: s.startUs !== null ? `${s.startUs}000` : undefined,
    end: s.endUs !== null ? `${s.endUs}000` : undefined,
    limit: s.limit,
  };
}

/**
 * parseTags reads tags as the Jaeger UI writes them in the URL (a JSON
 * object of strings) or as typed in the form (logfmt: key=value pairs
 * separated by spaces, values with spaces in double quotes).
 */
export function parseTags(s: string): Tag[] {
  const t = s.trim();
  if (!t) return [];
  if (t.startsWith("{")) {
    try {
      const o = JSON.parse(t) as Record<string, unknown>;
      if (o && typeof o === "object" && !Array.isArray(o))
        return Object.entries(o).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]);
    } catch {
      // not JSON: read it as logfmt
    }
  }
  return parseLogfmt(t).filter((p): p is Tag => p[0] !== "");
}

/** A token of logfmt text: its key, value, and where it starts and ends. */
export interface LogfmtToken {
  key: string;
  value: string;
  /** An '=' was typed. */
  hasEq: boolean;
  from: number;
  to: number;
}

/** tokenize splits logfmt text, keeping each token's position (for autocompletion). */
export function tokenize(s: string): LogfmtToken[] {
  const out: LogfmtToken[] = [];
  let i = 0;
  while (i < s.length) {
    while (i < s.length && s[i] === " ") i++;
    if (i >= s.length) break;
    const from = i;
    let key = "";
    while (i < s.length && s[i] !== "=" && s[i] !== " ") key += s[i++];
    let value = "";
    let hasEq = false;
    if (s[i] === "=") {
      hasEq = true;
      i++;
      if (s[i] === '"') {
        i++;
        while (i < s.length && s[i] !== '"') {
          if (s[i] === "\\" && i + 1 < s.length) i++;
          value += s[i++];
        }
        if (s[i] === '"') i++;
      } else {
        while (i < s.length && s[i] !== " ") value += s[i++];
      }
    }
    out.push({ key, value, hasEq, from, to: i });
  }
  return out;
}

function parseLogfmt(s: string): Tag[] {
  return tokenize(s).map((t) => [t.key, t.value]);
}

/** formatValue quotes a tag value for logfmt when it needs it. */
export function formatValue(v: string): string {
  return v === "" || /[\s"=]/.test(v) ? `"${v.replace(/["\\]/g, "\\$&")}"` : v;
}

/** formatTags writes tags as logfmt, as the form shows them. */
export function formatTags(tags: Tag[]): string {
  return tags.map(([k, v]) => `${k}=${formatValue(v)}`).join(" ");
}
