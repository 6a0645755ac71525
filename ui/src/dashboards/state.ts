// The dashboards' choices, read from and written to the URL: service,
// operation, span kind, window, step and the tables' order
// (/dashboards?service=&operation=&spanKind=&window=&step=&sort=). The Jaeger UI's Monitor tab links
// (/monitor?service=&spanKind=&timeframe=ms,
// packages/jaeger-ui/src/components/Monitor/url.ts) open the same view.

import type { QueryValues } from "../router";
import { sortKeys, type SortKey } from "./table";
import { stepPreset, windowFromTimeframe, windowPreset, type Preset } from "./window";

/** kinds are the span kinds a dashboard can count; "all" counts every kind. */
export const kinds = ["server", "consumer", "client", "producer", "internal", "unspecified", "all"] as const;

export type Kind = (typeof kinds)[number];

/** State is what a dashboard shows. */
export interface State {
  service: string;
  operation: string;
  kind: Kind;
  window: Preset;
  step: Preset;
  /** sort orders the overview's and the operations' tables. */
  sort: SortKey;
}

/** readState reads the URL's choices; a missing or bad one takes its default. */
export function readState(q: URLSearchParams): State {
  const w = windowFromTimeframe(q.get("timeframe")) ?? windowPreset(q.get("window"));
  const k = q.get("spanKind") ?? "";
  return {
    service: q.get("service") ?? "",
    operation: (q.get("service") && q.get("operation")) || "",
    kind: (kinds as readonly string[]).includes(k) ? (k as Kind) : "server",
    window: w,
    step: stepPreset(q.get("step"), w),
    sort: (sortKeys as readonly string[]).includes(q.get("sort") ?? "") ? (q.get("sort") as SortKey) : "name",
  };
}

/** queryOf is the URL query of s. */
export function queryOf(s: State): QueryValues {
  return {
    service: s.service,
    operation: s.operation,
    spanKind: s.kind,
    window: s.window.name,
    step: s.step.name,
    sort: s.sort === "name" ? undefined : s.sort,
  };
}

/** apiKinds is the kind parameter of the RED query. */
export function apiKinds(k: Kind): string[] | undefined {
  return k === "all" ? undefined : [k];
}

/** kindOf maps a Jaeger v1 operation's spanKind ("" when unspecified) to a Kind. */
export function kindOf(spanKind: string): Kind {
  if (spanKind === "") return "unspecified";
  return (kinds as readonly string[]).includes(spanKind) ? (spanKind as Kind) : "all";
}
