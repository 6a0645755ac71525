// Formatting shared by every page: durations, times in the viewer's zone
// (with the zone named), counts.

/** zoneName is the viewer's time zone, as shown next to times. */
export const zoneName: string = Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";

/** formatDuration shows nanoseconds as a short human duration: 850ns, 12.3µs, 4.56ms, 1.2s, 3m 4s. */
export function formatDuration(ns: number): string {
  if (!Number.isFinite(ns)) return "–";
  const abs = Math.abs(ns);
  if (abs < 1e3) return `${Math.round(ns)}ns`;
  if (abs < 1e6) return `${trim(ns / 1e3)}µs`;
  if (abs < 1e9) return `${trim(ns / 1e6)}ms`;
  if (abs < 60e9) return `${trim(ns / 1e9)}s`;
  const m = Math.floor(abs / 60e9);
  const s = Math.round((abs - m * 60e9) / 1e9);
  return `${ns < 0 ? "-" : ""}${m}m ${s}s`;
}

function trim(v: number): string {
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
}

const timeFmt = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  fractionalSecondDigits: 3,
});

/** formatTime shows a time (ms since the epoch) in the viewer's zone. */
export function formatTime(ms: number): string {
  return timeFmt.format(new Date(ms));
}

/** nanoToMs turns a decimal-string unix-nanosecond time (the API's ...UnixNano) into ms. */
export function nanoToMs(unixNano: string): number {
  // Split so that no precision is lost before the division.
  const s = unixNano.padStart(7, "0");
  return Number(s.slice(0, -6)) + Number(s.slice(-6)) / 1e6;
}

/** formatCount shows 1234567 as 1,234,567. */
export function formatCount(n: number): string {
  return n.toLocaleString();
}
