/**
 * Per-request ID, child logger and metrics, for the Express app and the protocol endpoint alike.
 * The log line never includes headers or bodies. Every request passes here, so the work is kept
 * to what each one needs: no logger child until something logs, one listener, no timer objects.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { RequestHandler } from "express";
import type { Logger } from "pino";
import type { HeadMetrics } from "../metrics";

/** The route label of requests no route took (refused before routing, or not found). */
export const UNMATCHED_ROUTE = "unmatched";

/** A client's own request ID is echoed when it is a plain token of at most 64 characters. */
const PRESENTED_REQUEST_ID = /^[\w-]{1,64}$/;

/** One request as the head tracks it. */
export interface RequestScope {
  readonly requestId: string;
  /**
   * The route label it is counted under when the answer is sent: {@link UNMATCHED_ROUTE} until a
   * route takes the request (the protocol endpoint sets it; Express's `req.route` wins when set).
   */
  route: string;
  /** The request's child logger (`requestId` bound), made on first use: most requests never log. */
  log(): Logger;
}

/** A tracked request: what the `finish` listener needs, in one object instead of closures. */
class TrackedRequest implements RequestScope {
  route = UNMATCHED_ROUTE;
  readonly #started = performance.now();
  #child: Logger | undefined;

  constructor(
    readonly requestId: string,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly logger: Logger,
    private readonly metrics: HeadMetrics,
  ) {}

  log(): Logger {
    return (this.#child ??= this.logger.child({ requestId: this.requestId }));
  }

  /** Counts and logs the answer once it is sent. */
  finished(): void {
    const { req, res } = this;
    // Express sets `req.route` while routing; the protocol endpoint sets `this.route` instead.
    const route = (req as { route?: { path?: string } }).route?.path ?? this.route;
    const seconds = (performance.now() - this.#started) / 1000;
    const method = req.method ?? "";
    this.metrics.requests.inc({ route, method, status: String(res.statusCode) });
    this.metrics.requestSeconds.observe({ route }, seconds);
    if (this.logger.isLevelEnabled("debug"))
      this.log().debug({ method, route, status: res.statusCode, ms: Math.round(seconds * 1000) }, "request");
  }
}

/**
 * Starts tracking a request: answers `x-request-id` (the client's when it is a plain token of at
 * most 64 characters, else a fresh UUID) and, when the answer is sent, counts it in
 * `iotguard_http_requests_total` and `iotguard_http_request_seconds` under its route label
 * ({@link RequestScope.route}) and logs it at debug level.
 */
export function trackRequest(
  req: IncomingMessage,
  res: ServerResponse,
  logger: Logger,
  metrics: HeadMetrics,
): RequestScope {
  const presented = req.headers["x-request-id"];
  const requestId =
    typeof presented === "string" && PRESENTED_REQUEST_ID.test(presented) ? presented : randomUUID();
  res.setHeader("x-request-id", requestId);
  const scope = new TrackedRequest(requestId, req, res, logger, metrics);
  // `finish` is emitted once per response: `on` spares the wrapper `once` allocates.
  res.on("finish", () => scope.finished());
  return scope;
}

/** {@link trackRequest} as Express middleware; `req.log` is the request's child logger. */
export function requestContext(logger: Logger, metrics: HeadMetrics): RequestHandler {
  return (req, res, next) => {
    const scope = trackRequest(req, res, logger, metrics);
    Object.defineProperty(req, "log", { get: () => scope.log(), configurable: true });
    next();
  };
}
