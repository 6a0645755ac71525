// Light and dark themes: the viewer's system preference unless they chose
// one, remembered in localStorage. The colours are CSS variables
// (styles.css); canvas drawing reads them through cssVar.

import { h } from "./dom";

type Theme = "light" | "dark";
const key = "tracer.theme";

function systemTheme(): Theme {
  return matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

/** theme is the theme in use. */
export function theme(): Theme {
  return (document.documentElement.dataset.theme as Theme) || systemTheme();
}

function apply(t: Theme): void {
  document.documentElement.dataset.theme = t;
  window.dispatchEvent(new CustomEvent("tracer-theme", { detail: t }));
}

export function initTheme(): void {
  const saved = localStorage.getItem(key);
  apply(saved === "light" || saved === "dark" ? saved : systemTheme());
}

export function themeToggle(): HTMLButtonElement {
  const b = h("button", { class: "theme-toggle", type: "button", title: "Switch between light and dark" });
  const label = () => (b.textContent = theme() === "dark" ? "Light" : "Dark");
  label();
  b.addEventListener("click", () => {
    const next: Theme = theme() === "dark" ? "light" : "dark";
    localStorage.setItem(key, next);
    apply(next);
    label();
  });
  return b;
}

/** cssVar reads a theme colour (e.g. "--fg") for canvas drawing. */
export function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/**
 * serviceColor is the colour of a service, the same on every page: a hue
 * from a hash of its name, with lightness from the theme.
 */
export function serviceColor(service: string): string {
  let x = 2166136261;
  for (let i = 0; i < service.length; i++) {
    x ^= service.charCodeAt(i);
    x = Math.imul(x, 16777619);
  }
  const hue = (x >>> 0) % 360;
  return theme() === "dark" ? `hsl(${hue} 60% 62%)` : `hsl(${hue} 65% 45%)`;
}
