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
 * serviceColor is the colour of a service, the same on every page: one of 24
 * distinct colours (12 hues, two lightnesses) picked by a hash of its name.
 * Reds are left out, so that no service looks like an error.
 */
export function serviceColor(service: string): string {
  let x = 2166136261;
  for (let i = 0; i < service.length; i++) {
    x ^= service.charCodeAt(i);
    x = Math.imul(x, 16777619);
  }
  x = Math.imul(x ^ (x >>> 15), 2246822507) >>> 0;
  const hue = serviceHues[x % serviceHues.length];
  const alt = Math.floor(x / serviceHues.length) % 2 === 1;
  if (theme() === "dark") return `hsl(${hue} ${alt ? 45 : 65}% ${alt ? 72 : 60}%)`;
  return `hsl(${hue} ${alt ? 55 : 70}% ${alt ? 35 : 45}%)`;
}

// Hues far from the error red (0) and from each other.
const serviceHues = [210, 135, 38, 270, 175, 90, 305, 55, 235, 155, 285, 115];
