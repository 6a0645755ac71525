// Lets the pure modules' checks (checks.ts) run in Node: the shared modules
// they import read the document's <meta> once at load (api.ts, basePath).
// Imported first, before any of them. Never part of the UI's build.

const g = globalThis as unknown as { document?: unknown };
g.document ??= { querySelector: () => null };

export {};
