// The API client's core: every page's requests go through getJSON, so the
// base path, errors and cancellation are handled once. Each page group keeps
// its own typed calls in api/<group>.ts.

/** basePath is the prefix the UI and API are served under ("" at the root). */
export const basePath: string = (
  document.querySelector('meta[name="tracer-base-path"]')?.getAttribute("content") ?? ""
).replace(/\/$/, "");

/** ApiError is a failed request, with the server's message and request id. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly requestId: string | null,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export type Params = Record<string, string | number | boolean | string[] | undefined | null>;

/** apiURL is the URL of an API path ("/api/...") with query parameters. */
export function apiURL(path: string, params?: Params): string {
  const q = new URLSearchParams();
  if (params) {
    for (const [k, v] of Object.entries(params)) {
      if (v === undefined || v === null || v === "") continue;
      if (Array.isArray(v)) for (const item of v) q.append(k, item);
      else q.set(k, String(v));
    }
  }
  const qs = q.toString();
  return basePath + path + (qs ? "?" + qs : "");
}

/**
 * getJSON fetches an API path and parses its JSON. Errors come back as an
 * ApiError whose message is the server's (every API error shape carries one:
 * Tracer's {error: {message}}, Jaeger v1's {errors: [{msg}]}, v3's
 * {error: {message}}), or says the server could not be reached.
 */
export async function getJSON<T>(path: string, params?: Params, signal?: AbortSignal): Promise<T> {
  let res: Response;
  try {
    res = await fetch(apiURL(path, params), { signal, headers: { Accept: "application/json" } });
  } catch (e) {
    if ((e as Error).name === "AbortError") throw e;
    throw new ApiError(`cannot reach the Tracer server: ${(e as Error).message}`, 0, null);
  }
  const requestId = res.headers.get("X-Request-Id");
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`;
    try {
      const body = await res.json();
      message = errorMessage(body) ?? message;
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiError(message, res.status, requestId);
  }
  return (await res.json()) as T;
}

function errorMessage(body: unknown): string | undefined {
  if (!body || typeof body !== "object") return undefined;
  const b = body as { error?: { message?: string }; errors?: { msg?: string }[] };
  if (b.error?.message) return b.error.message;
  if (b.errors?.length && b.errors[0].msg) return b.errors.map((e) => e.msg).join("; ");
  return undefined;
}
