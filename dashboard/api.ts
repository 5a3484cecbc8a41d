/**
 * The REST API as the page uses it. The operator token lives only in this closure, for this tab:
 * never in storage, a cookie or a URL, and it is sent only as a bearer header to this origin.
 */

/** A refusal of the API: its stable code and message (docs/api.md § Errors). */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** The request field the message names (`deviceId: …` from the head's validation), if any. */
  get field(): string | undefined {
    return /^([A-Za-z][\w.]*): /.exec(this.message)?.[1]?.split(".").pop();
  }
}

export interface Api {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
  /** The raw response of an authenticated GET (the event stream). */
  stream(path: string, signal: AbortSignal): Promise<Response>;
}

/** An API client holding `token` for its lifetime. */
export function apiClient(token: string, onUnauthorized: () => void): Api {
  const headers = (json: boolean): HeadersInit => ({
    authorization: `Bearer ${token}`,
    accept: "application/json",
    ...(json ? { "content-type": "application/json" } : {}),
  });
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(path, {
      method,
      headers: headers(body !== undefined),
      cache: "no-store",
      credentials: "omit",
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return parse<T>(response, onUnauthorized);
  };
  return {
    get: (path) => call("GET", path),
    post: (path, body) => call("POST", path, body),
    stream: async (path, signal) => {
      const response = await fetch(path, {
        headers: headers(false),
        cache: "no-store",
        credentials: "omit",
        signal,
      });
      if (!response.ok) await parse(response, onUnauthorized);
      return response;
    },
  };
}

async function parse<T>(response: Response, onUnauthorized: () => void): Promise<T> {
  const body: unknown = await response.json().catch(() => undefined);
  if (response.ok) return body as T;
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const code = typeof error?.code === "string" ? error.code : `HTTP_${response.status}`;
  const message = typeof error?.message === "string" ? error.message : response.statusText;
  if (response.status === 401) onUnauthorized();
  throw new ApiError(code, message, response.status);
}

/** Checks a token without keeping it: resolves when the head admits it for reading. */
export async function checkToken(token: string): Promise<void> {
  await apiClient(token, () => undefined).get("/v1/cluster");
}
