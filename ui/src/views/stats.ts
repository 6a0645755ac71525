// TODO(issue 13): the per-trace statistics table; its author replaces this stub.
import { showState } from "../dom";
import type { Cleanup } from "../router";
import type { Trace } from "../model/trace";

/** renderStats shows, per service and operation, span count, total and self time. */
export function renderStats(el: HTMLElement, trace: Trace): Cleanup {
  void trace;
  showState(el, "empty", "The statistics table is not built yet.");
  return () => {};
}
