// TODO(issue 13): the flame graph of one trace; its author replaces this stub.
import { showState } from "../dom";
import type { Cleanup } from "../router";
import type { Span, Trace } from "../model/trace";

export interface FlameOptions {
  /** Called when the viewer picks a span (click, keyboard). */
  onSelect(span: Span): void;
  /** The span shown as selected, by index. */
  selected?: number;
}

/** renderFlame draws trace as a flame graph into el (one canvas; no DOM node per span). */
export function renderFlame(el: HTMLElement, trace: Trace, opts: FlameOptions): Cleanup {
  void trace;
  void opts;
  showState(el, "empty", "The flame graph is not built yet.");
  return () => {};
}
