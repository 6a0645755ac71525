// The router: the URL holds every choice a page makes, so a link reopens the
// same view. Paths follow the Jaeger UI's (/search, /trace/{id},
// /trace/{a}...{b} for a comparison, /dependencies) so links people already
// share keep working.

import { basePath } from "./api";

export type PageName = "search" | "trace" | "compare" | "dependencies" | "dashboards" | "bottlenecks" | "anomalies" | "notfound";

export interface Route {
  page: PageName;
  /** Path parameters: id for trace; a and b for compare. */
  params: Record<string, string>;
  /** The query string: each page's state (filters, selection, zoom, ...). */
  query: URLSearchParams;
}

/** Cleanup undoes what a page's mount did (listeners, timers, requests). */
export type Cleanup = () => void;

/** A page module exports mount. */
export type Mount = (root: HTMLElement, route: Route) => Cleanup | void;

export type QueryValues = Record<string, string | number | boolean | string[] | undefined | null>;

/** parse maps a path below the base path to a route. */
export function parse(path: string, search: string): Route {
  const query = new URLSearchParams(search);
  const p = path.replace(/\/+$/, "") || "/";
  let m: RegExpMatchArray | null;
  if (p === "/" || p === "/search") return { page: "search", params: {}, query };
  if ((m = p.match(/^\/trace\/([0-9a-fA-F]{1,32})\.\.\.([0-9a-fA-F]{1,32})$/)))
    return { page: "compare", params: { a: m[1].toLowerCase(), b: m[2].toLowerCase() }, query };
  if ((m = p.match(/^\/trace\/([0-9a-fA-F]{1,32})$/))) return { page: "trace", params: { id: m[1].toLowerCase() }, query };
  if (p === "/compare") return { page: "compare", params: { a: query.get("a") ?? "", b: query.get("b") ?? "" }, query };
  if (p === "/dependencies") return { page: "dependencies", params: {}, query };
  if (p === "/dashboards" || p === "/monitor") return { page: "dashboards", params: {}, query };
  if (p === "/bottlenecks") return { page: "bottlenecks", params: {}, query };
  if (p === "/anomalies") return { page: "anomalies", params: {}, query };
  return { page: "notfound", params: { path: p }, query };
}

/** current is the route of the browser's location. */
export function current(): Route {
  let path = location.pathname;
  if (basePath && path.startsWith(basePath)) path = path.slice(basePath.length) || "/";
  return parse(path, location.search);
}

/** href is the URL of a UI path ("/trace/abc") with query values, under the base path. */
export function href(path: string, query?: QueryValues): string {
  return basePath + path + queryString(query);
}

function queryString(query?: QueryValues): string {
  if (!query) return "";
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === "" || v === false) continue;
    if (Array.isArray(v)) for (const item of v) q.append(k, item);
    else q.set(k, String(v));
  }
  const s = q.toString();
  return s ? "?" + s : "";
}

type Listener = (r: Route) => void;
let listener: Listener | null = null;

/** start calls onRoute now and on every navigation. */
export function start(onRoute: Listener): void {
  listener = onRoute;
  window.addEventListener("popstate", () => onRoute(current()));
  // Same-origin links under the base path navigate without a reload.
  document.addEventListener("click", (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = (e.target as Element | null)?.closest?.("a");
    if (!a || a.target || a.hasAttribute("download") || a.origin !== location.origin) return;
    if (basePath && !a.pathname.startsWith(basePath)) return;
    if (a.pathname.startsWith(basePath + "/api/")) return;
    e.preventDefault();
    history.pushState(null, "", a.pathname + a.search + a.hash);
    onRoute(current());
  });
  onRoute(current());
}

/** navigate opens a UI path (a new page: the current one is unmounted). */
export function navigate(path: string, query?: QueryValues, opts?: { replace?: boolean }): void {
  const url = href(path, query);
  if (opts?.replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  listener?.(current());
}

/**
 * setQuery records a page's state in the URL without remounting it, so that
 * reloading or sharing the link reopens the same view. replace (the default)
 * keeps the history short; pass false for choices worth a Back step.
 */
export function setQuery(query: QueryValues, replace = true): void {
  const url = location.pathname + queryString(query) + location.hash;
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
}
