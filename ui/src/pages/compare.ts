// The compare page: the structural diff of two traces of the same operation
// (compare/diff.ts), at the Jaeger UI's URL /trace/{a}...{b} (followed:
// jaeger-ui packages/jaeger-ui/src/components/TraceDiff/url.ts) and at
// /compare?a=&b=. The query string keeps the view's choices: show (which
// changes are listed) and q (a service or operation filter).

import "../compare/compare.css";
import { ApiError } from "../api";
import { diffTraces } from "../compare/diff";
import { renderDiff, type DiffView } from "../compare/view";
import { h, clear, showState } from "../dom";
import { loadTrace, type Trace } from "../model/trace";
import { navigate, setQuery, type Mount, type Route } from "../router";

const idPattern = /^[0-9a-fA-F]{1,32}$/;

/** go opens a comparison: at the Jaeger UI's /trace/{a}...{b} when both ids are known. */
function go(a: string, b: string, view: DiffView): void {
  const q = { show: view.show === "changed" ? "" : view.show, q: view.q };
  if (a && b) navigate(`/trace/${a}...${b}`, q);
  else navigate("/compare", { a, b, ...q });
}

function viewOf(route: Route): DiffView {
  const show = route.query.get("show");
  const valid = ["all", "changed", "added", "missing", "slower", "faster"];
  return {
    show: (show && valid.includes(show) ? show : "changed") as DiffView["show"],
    q: route.query.get("q") ?? "",
  };
}

export const mount: Mount = (root, route) => {
  const a = route.params.a ?? "";
  const b = route.params.b ?? "";
  const view = viewOf(route);
  const onCompareRoute = location.pathname.endsWith("/compare");

  const inA = h("input", {
    id: "cmp-a",
    name: "a",
    value: a,
    placeholder: "trace id (baseline)",
    spellcheck: false,
    autocomplete: "off",
    "aria-label": "Trace A, the baseline",
    class: "mono",
  });
  const inB = h("input", {
    id: "cmp-b",
    name: "b",
    value: b,
    placeholder: "trace id",
    spellcheck: false,
    autocomplete: "off",
    "aria-label": "Trace B, compared with A",
    class: "mono",
  });
  const formError = h("span", { class: "cmp-form-error", role: "alert" });
  const submit = (e?: Event) => {
    e?.preventDefault();
    const va = inA.value.trim().toLowerCase();
    const vb = inB.value.trim().toLowerCase();
    for (const [label, v] of [["A", va], ["B", vb]] as const) {
      if (v && !idPattern.test(v)) {
        formError.textContent = `Trace ${label} is not a trace id (up to 32 hexadecimal digits).`;
        return;
      }
    }
    formError.textContent = "";
    go(va, vb, view);
  };
  const form = h(
    "form",
    { class: "cmp-form", onsubmit: submit },
    h("label", { for: "cmp-a" }, h("span", { class: "cmp-tag cmp-tag-a" }, "A")),
    inA,
    h(
      "button",
      {
        type: "button",
        class: "cmp-swap",
        title: "Swap A and B",
        "aria-label": "Swap A and B",
        onclick: () => {
          [inA.value, inB.value] = [inB.value, inA.value];
          submit();
        },
      },
      "⇄",
    ),
    h("label", { for: "cmp-b" }, h("span", { class: "cmp-tag cmp-tag-b" }, "B")),
    inB,
    h("button", { type: "submit", class: "cmp-go" }, "Compare"),
    formError,
  );
  const body = h("div", { class: "cmp-body" });
  root.append(h("div", { class: "cmp" }, h("h1", { class: "cmp-title" }, "Compare traces"), form, body));

  if (!a || !b) {
    showState(
      body,
      "empty",
      "Enter two trace ids of the same operation: A is the baseline, B the trace compared with it. " +
        "The diff lists the spans B added, the spans it is missing, and those slower or faster than in A.",
    );
    (a ? inB : inA).focus();
    return;
  }

  const abort = new AbortController();
  showState(body, "loading", `Loading traces ${a} and ${b}…`);
  void Promise.allSettled([loadTrace(a, abort.signal), loadTrace(b, abort.signal)]).then(([ra, rb]) => {
    if (abort.signal.aborted) return;
    const problems: string[] = [];
    const check = (label: string, id: string, r: PromiseSettledResult<Trace>): Trace | undefined => {
      if (r.status === "rejected") {
        const e = r.reason as Error;
        problems.push(
          e instanceof ApiError && e.status === 404
            ? `Trace ${label} (${id}) was not found.`
            : `Trace ${label} (${id}) could not be loaded: ${e.message}`,
        );
        return undefined;
      }
      if (!r.value.spans.length) {
        problems.push(`Trace ${label} (${id}) has no spans.`);
        return undefined;
      }
      return r.value;
    };
    const ta = check("A", a, ra);
    const tb = check("B", b, rb);
    if (!ta || !tb) {
      clear(body);
      body.append(
        h("div", { class: "state state-error", role: "alert" }, ...problems.map((p) => h("p", null, p))),
      );
      return;
    }
    const diff = diffTraces(ta, tb);
    clear(body);
    renderDiff(body, diff, view, (v) => {
      view.show = v.show;
      view.q = v.q;
      const q = { show: v.show === "changed" ? "" : v.show, q: v.q };
      setQuery(onCompareRoute ? { a, b, ...q } : q);
    }, (w, i) => (w === "a" ? ta : tb).spans[i].spanId);
  });
  return () => abort.abort();
};
