/**
 * The head's HTTP surface: the protocol routes on bare node:http (./protocol-endpoint.ts) in
 * front of an Express app for everything else (operator API, health, metrics, dashboard). Thin
 * routes over the use cases, one error shape, no stack traces to clients, bounded bodies
 * everywhere, and the abuse limits of ./limits.ts, shared by both, in front of every route.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import express, { type Express } from "express";
import { collectorClientFor } from "../collector-client";
import type { HeadContext } from "../context";
import { errorHandler, notFound } from "./error-handler";
import { type EdgeLimits, edgeLimits, rateLimit } from "./limits";
import { openApiDocument } from "./openapi";
import { protocolEndpoint } from "./protocol-endpoint";
import { requestContext } from "./request-context";
import { dashboardRouter } from "./routes/dashboard";
import { devicesRouter } from "./routes/devices";
import { eventsRouter } from "./routes/events";
import { type BrokerStatus, operationsRouter } from "./routes/operations";
import { operatorsRouter } from "./routes/operators";
import { telemetryRouter } from "./routes/telemetry";

export interface AppOptions {
  brokerStatus: () => BrokerStatus;
  version: string;
}

/**
 * The Express app: every route but the protocol routes.
 * @param limits - the edge limits, shared with the protocol endpoint when there is one
 */
export function createApp(
  ctx: HeadContext,
  options: AppOptions,
  limits: EdgeLimits = edgeLimits(ctx.config, ctx.metrics),
): Express {
  const { config, metrics } = ctx;
  // JSON is parsed only on the routes that take it, after the operator is authenticated.
  const jsonBody = express.json({ limit: config.maxJsonBody, strict: true });
  const app = express();
  app.disable("x-powered-by");
  app.set("query parser", "simple");
  app.use(requestContext(ctx.logger, metrics));
  // Every request takes a token from its source's API bucket (the protocol endpoint takes it from the same).
  app.use(rateLimit(limits.api));
  app.get("/openapi.json", (_req, res) => {
    res.json(openApiDocument(options.version));
  });
  app.use(operationsRouter(ctx, options.brokerStatus));
  app.use(devicesRouter(ctx, jsonBody));
  app.use(operatorsRouter(ctx, jsonBody));
  app.use(dashboardRouter(ctx, options.brokerStatus));
  app.use(eventsRouter(ctx));
  // The collector's token file is read here, once, at start.
  app.use(telemetryRouter(ctx, collectorClientFor(config)));
  app.use(notFound);
  app.use(errorHandler(ctx.logger, ctx.metrics));
  return app;
}

/**
 * The head's request listener: the protocol endpoint takes its routes, Express the rest; one set of
 * limits for both, so a source's API bucket is one bucket whichever path its requests take.
 */
export function createRequestListener(ctx: HeadContext, options: AppOptions): RequestListener {
  const limits = edgeLimits(ctx.config, ctx.metrics);
  const app = createApp(ctx, options, limits);
  const protocol = protocolEndpoint(ctx, limits);
  return (req: IncomingMessage, res: ServerResponse) => {
    if (!protocol(req, res)) app(req, res);
  };
}
