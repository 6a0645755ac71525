// The tags field: key=value pairs in logfmt (as the Jaeger UI's form takes
// them), with the key or value under the caret completed from the API's
// attribute listings. A small ARIA combobox: arrows choose a suggestion,
// Enter or Tab takes it, Escape closes; with no suggestion chosen, Enter
// submits the form.

import { attributeKeys, attributeValues } from "../api/search";
import { clear, h } from "../dom";
import { formatValue, tokenize, type LogfmtToken } from "./query";

export interface TagsField {
  el: HTMLElement;
  input: HTMLInputElement;
  destroy(): void;
}

interface Suggestion {
  label: string;
  /** The token's new text. */
  text: string;
  /** Taking it completes a key: offer its values next. */
  key: boolean;
}

let ids = 0;

/** tagsField makes the field; service names the service to complete for. */
export function tagsField(initial: string, service: () => string): TagsField {
  const listId = `tags-list-${++ids}`;
  const input = h("input", {
    type: "text",
    id: "search-tags",
    name: "tags",
    value: initial,
    placeholder: "http.status_code=500 env=prod",
    autocomplete: "off",
    spellcheck: false,
    role: "combobox",
    "aria-autocomplete": "list",
    "aria-expanded": "false",
    "aria-controls": listId,
  });
  const list = h("ul", { id: listId, class: "tags-list", role: "listbox", hidden: true });
  const el = h("div", { class: "tags-field" }, input, list);

  let items: Suggestion[] = [];
  let active = -1;
  let timer = 0;
  let ctl: AbortController | null = null;
  const cache = new Map<string, string[]>();

  function close(): void {
    items = [];
    active = -1;
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function render(): void {
    clear(list);
    if (!items.length) return close();
    items.forEach((s, i) => {
      const li = h(
        "li",
        {
          id: `${listId}-${i}`,
          role: "option",
          class: i === active ? "active" : undefined,
          "aria-selected": i === active ? "true" : "false",
          onmousedown: (e: Event) => {
            e.preventDefault(); // keep the focus in the input
            take(i);
          },
        },
        s.label,
      );
      list.appendChild(li);
    });
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    if (active >= 0) input.setAttribute("aria-activedescendant", `${listId}-${active}`);
    else input.removeAttribute("aria-activedescendant");
  }

  /** token is the token under the caret, or an empty one there. */
  function token(): LogfmtToken {
    const caret = input.selectionStart ?? input.value.length;
    const t = tokenize(input.value).find((t) => t.from <= caret && caret <= t.to);
    return t ?? { key: "", value: "", hasEq: false, from: caret, to: caret };
  }

  async function fetchList(kind: "k" | "v", key: string, prefix: string, signal: AbortSignal): Promise<string[]> {
    const svc = service();
    const ck = `${kind}\0${svc}\0${key}\0${prefix}`;
    const hit = cache.get(ck);
    if (hit) return hit;
    // A tag matches a span attribute or, when the span has no such key, its
    // resource's (openapi.yaml attr): both scopes are offered.
    const q = { service: svc || undefined, prefix: prefix || undefined, limit: 50 };
    const lists = await Promise.all(
      (["span", "resource"] as const).map((scope) =>
        kind === "k" ? attributeKeys({ ...q, scope }, signal) : attributeValues({ ...q, key, scope }, signal),
      ),
    );
    const r = [...new Set(lists.flat())].sort();
    cache.set(ck, r);
    return r;
  }

  async function suggest(): Promise<void> {
    ctl?.abort();
    const c = (ctl = new AbortController());
    const t = token();
    try {
      let next: Suggestion[];
      if (!t.hasEq) {
        const keys = await fetchList("k", "", t.key, c.signal);
        next = keys.map((k) => ({ label: k, text: `${k}=`, key: true }));
      } else {
        if (!t.key) return close();
        const vals = await fetchList("v", t.key, t.value, c.signal);
        next = vals.map((v) => ({ label: `${t.key}=${v}`, text: `${t.key}=${formatValue(v)} `, key: false }));
      }
      if (c.signal.aborted) return;
      items = next;
      active = -1;
      render();
    } catch (e) {
      // Completion is a help: a failed listing leaves the field as typed.
      if ((e as Error).name !== "AbortError") close();
    }
  }

  function schedule(): void {
    clearTimeout(timer);
    timer = window.setTimeout(() => void suggest(), 120);
  }

  function take(i: number): void {
    const s = items[i];
    if (!s) return;
    const t = token();
    const v = input.value;
    const after = v.slice(t.to);
    input.value = v.slice(0, t.from) + s.text + (s.key ? after : after.replace(/^ +/, ""));
    const caret = t.from + s.text.length;
    input.setSelectionRange(caret, caret);
    close();
    if (s.key) void suggest();
  }

  input.addEventListener("input", schedule);
  input.addEventListener("focus", schedule);
  input.addEventListener("blur", () => {
    clearTimeout(timer);
    ctl?.abort();
    close();
  });
  // Taking a suggestion with Enter must not also submit the form: a
  // keypress can follow a keydown whose default was prevented (CDP input
  // does this), so the Enter is swallowed until its keyup.
  let swallow = false;
  input.addEventListener("keypress", (e) => {
    if (swallow && e.key === "Enter") e.preventDefault();
  });
  input.addEventListener("keyup", (e) => {
    if (e.key === "Enter") swallow = false;
  });
  input.addEventListener("keydown", (e) => {
    if (list.hidden) {
      if (e.key === "ArrowDown") {
        e.preventDefault();
        void suggest();
      }
      return;
    }
    switch (e.key) {
      case "ArrowDown":
        e.preventDefault();
        active = (active + 1) % items.length;
        render();
        break;
      case "ArrowUp":
        e.preventDefault();
        active = active <= 0 ? items.length - 1 : active - 1;
        render();
        break;
      case "Enter":
      case "Tab":
        if (active >= 0) {
          e.preventDefault();
          swallow = e.key === "Enter";
          take(active);
        } else close();
        break;
      case "Escape":
        e.preventDefault();
        close();
        break;
    }
  });

  return {
    el,
    input,
    destroy() {
      clearTimeout(timer);
      ctl?.abort();
    },
  };
}
