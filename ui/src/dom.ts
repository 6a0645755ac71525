// Small DOM helpers shared by every page: no framework, so that the pages
// that draw large traces control exactly what is in the DOM.

export type Child = Node | string | number | null | undefined | false;

export type Props = {
  [key: string]: unknown;
  class?: string;
  style?: Partial<CSSStyleDeclaration> | string;
  dataset?: Record<string, string>;
};

/**
 * h creates an element: h("a", {href: "/x", class: "link", onclick: fn}, "text").
 * Props starting with "on" are listeners; "class", "style" and "dataset" are
 * handled specially; other props are set as properties when the element has
 * one (value, checked, ...), else as attributes. null/undefined/false
 * children and props are skipped.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props?: Props | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") el.className = String(v);
      else if (k === "style") {
        if (typeof v === "string") el.setAttribute("style", v);
        else Object.assign(el.style, v);
      } else if (k === "dataset") Object.assign(el.dataset, v as Record<string, string>);
      else if (k.startsWith("on") && typeof v === "function") {
        el.addEventListener(k.slice(2).toLowerCase(), v as EventListener);
      } else if (k in el && typeof v !== "string") {
        (el as unknown as Record<string, unknown>)[k] = v;
      } else el.setAttribute(k, v === true ? "" : String(v));
    }
  }
  append(el, ...children);
  return el;
}

/** append adds children, skipping null/undefined/false. */
export function append(el: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
}

/** clear removes every child of el. */
export function clear(el: Node): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

/** svg creates an SVG element with attributes. */
export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs?: Record<string, string | number> | null,
  ...children: (SVGElement | string | null | undefined)[]
): SVGElementTagNameMap[K] {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  if (attrs) for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) {
    if (c === null || c === undefined) continue;
    el.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return el;
}

/** State shows a loading, empty or error state plainly in el. */
export function showState(el: HTMLElement, kind: "loading" | "empty" | "error", message: string): void {
  clear(el);
  el.appendChild(
    h("div", { class: `state state-${kind}`, role: kind === "error" ? "alert" : "status" }, message),
  );
}
