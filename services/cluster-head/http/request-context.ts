/** Per-request ID, child logger and metrics. The log line never includes headers or bodies. */
import { randomUUID } from "node:crypto";
import type { RequestHandler } from "express";
import type { Logger } from "pino";
import type { HeadMetrics } from "../metrics";

export function requestContext(logger: Logger, metrics: HeadMetrics): RequestHandler {
  return (req, res, next) => {
    const presented = req.get("x-request-id");
    const requestId = presented && /^[\w-]{1,64}$/.test(presented) ? presented : randomUUID();
    res.setHeader("x-request-id", requestId);
    const log = logger.child({ requestId });
    (req as { log?: Logger }).log = log;
    const started = process.hrtime.bigint();
    res.on("finish", () => {
      const route = (req.route?.path as string | undefined) ?? "unmatched";
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.requests.inc({ route, method: req.method, status: String(res.statusCode) });
      metrics.requestSeconds.observe({ route }, seconds);
      log.debug(
        { method: req.method, route, status: res.statusCode, ms: Math.round(seconds * 1000) },
        "request",
      );
    });
    next();
  };
}
