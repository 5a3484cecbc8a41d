/**
 * The head's client of the telemetry collector's readings API (docs/telemetry.md § Reading back),
 * for the dashboard's readings view: the page stays same-origin under its CSP and never holds the
 * collector's token. The token file is read once at start and checked like every secret file of
 * the head; the token is sent only as a bearer header to the configured collector.
 */
import { readFileSync, statSync } from "node:fs";
import { HeadError } from "./errors";
import { SecretFileError } from "./stores/secret-file";

/** How long the head waits for the collector before answering E_COLLECTOR_UNAVAILABLE. */
export const COLLECTOR_TIMEOUT_MS = 5_000;

export interface CollectorClient {
  /** GETs `/v1/readings` with `query` (already validated) and returns the collector's JSON body. */
  readings(query: Record<string, string>): Promise<unknown>;
}

/**
 * Reads and checks the collector's API token file.
 * @throws SecretFileError when the file is missing, group/world accessible or too short (the
 *   message names the file, never its content)
 */
export function readCollectorToken(path: string): string {
  let mode: number;
  try {
    mode = statSync(path).mode & 0o777;
  } catch {
    throw new SecretFileError(
      `collector token file ${path} cannot be read (the collector's <data-dir>/api-token)`,
    );
  }
  if ((mode & 0o077) !== 0)
    throw new SecretFileError(
      `${path} is accessible by other users (mode ${mode.toString(8)}); run: chmod 600 ${path}`,
    );
  const token = readFileSync(path, "utf8").trim();
  if (token.length < 32 || /\s/.test(token))
    throw new SecretFileError(`${path} is not a collector token file: expected one token of 32+ characters`);
  return token;
}

/**
 * The collector client of a head configured with both settings; undefined without a URL.
 * @throws SecretFileError when the URL is set without a usable token file
 */
export function collectorClientFor(config: {
  collectorUrl?: string | undefined;
  collectorTokenFile?: string | undefined;
}): CollectorClient | undefined {
  if (config.collectorUrl === undefined) return undefined;
  if (config.collectorTokenFile === undefined)
    throw new SecretFileError(
      "--collector-url needs --collector-token-file (the collector's api-token file)",
    );
  return httpCollectorClient(config.collectorUrl, readCollectorToken(config.collectorTokenFile));
}

export function httpCollectorClient(
  baseUrl: string,
  token: string,
  timeoutMs = COLLECTOR_TIMEOUT_MS,
): CollectorClient {
  const endpoint = new URL("/v1/readings", baseUrl);
  return {
    async readings(query) {
      const url = new URL(endpoint);
      for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
      let response: Response;
      let body: unknown;
      try {
        response = await fetch(url, {
          headers: { authorization: `Bearer ${token}`, accept: "application/json" },
          redirect: "error",
          signal: AbortSignal.timeout(timeoutMs),
        });
        body = await response.json();
      } catch {
        throw new HeadError("E_COLLECTOR_UNAVAILABLE", "the telemetry collector did not answer");
      }
      if (response.ok) return body;
      const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
      // The collector's own validation refusal is the caller's; everything else is the collector's fault.
      if (response.status === 400 && error?.code === "E_VALIDATION" && typeof error.message === "string")
        throw new HeadError("E_VALIDATION", error.message);
      throw new HeadError(
        "E_COLLECTOR_UNAVAILABLE",
        `the telemetry collector refused the request (HTTP ${response.status}${typeof error?.code === "string" ? ` ${error.code}` : ""})`,
      );
    },
  };
}
