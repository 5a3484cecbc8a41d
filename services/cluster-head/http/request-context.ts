/**
 * Per-request ID, child logger and metrics, for the Express app and the protocol endpoint alike.
 * The log line never includes headers or bodies.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { RequestHandler } from "express";
import type { Logger } from "pino";
import type { HeadMetrics } from "../metrics";

/** The route label of requests no route took (refused before routing, or not found). */
export const UNMATCHED_ROUTE = "unmatched";

/** One request as the head tracks it. */
export interface RequestScope {
  readonly requestId: string;
  /** The request's child logger (`requestId` bound), made on first use: most requests never log. */
  log(): Logger;
}

/**
 * Starts tracking a request: answers `x-request-id` (the client's when it is a plain token of at
 * most 64 characters, else a fresh UUID) and, when the answer is sent, counts it in
 * `iotguard_http_requests_total` and `iotguard_http_request_seconds` under `routeOf()` and logs it
 * at debug level.
 */
export function trackRequest(
  req: IncomingMessage,
  res: ServerResponse,
  logger: Logger,
  metrics: HeadMetrics,
  routeOf: () => string,
): RequestScope {
  const presented = req.headers["x-request-id"];
  const requestId =
    typeof presented === "string" && /^[\w-]{1,64}$/.test(presented) ? presented : randomUUID();
  res.setHeader("x-request-id", requestId);
  let child: Logger | undefined;
  const log = () => (child ??= logger.child({ requestId }));
  const started = process.hrtime.bigint();
  res.once("finish", () => {
    const route = routeOf();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    metrics.requests.inc({ route, method: req.method ?? "", status: String(res.statusCode) });
    metrics.requestSeconds.observe({ route }, seconds);
    if (logger.isLevelEnabled("debug"))
      log().debug(
        { method: req.method, route, status: res.statusCode, ms: Math.round(seconds * 1000) },
        "request",
      );
  });
  return { requestId, log };
}

/** {@link trackRequest} as Express middleware; `req.log` is the request's child logger. */
export function requestContext(logger: Logger, metrics: HeadMetrics): RequestHandler {
  return (req, res, next) => {
    const scope = trackRequest(
      req,
      res,
      logger,
      metrics,
      () => (req.route?.path as string | undefined) ?? UNMATCHED_ROUTE,
    );
    Object.defineProperty(req, "log", { get: scope.log, configurable: true });
    next();
  };
}
