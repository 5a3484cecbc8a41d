/**
 * The head's Express app: thin routes over the use cases, one error middleware, no stack traces to
 * clients, bounded bodies everywhere, and the abuse limits of ./limits.ts in front of every route.
 */
import express, { type Express } from "express";
import { collectorClientFor } from "../collector-client";
import type { HeadContext } from "../context";
import { errorHandler, notFound } from "./error-handler";
import { concurrencyGate, exemptSources, rateLimit, TokenBuckets } from "./limits";
import { openApiDocument } from "./openapi";
import { requestContext } from "./request-context";
import { dashboardRouter } from "./routes/dashboard";
import { devicesRouter } from "./routes/devices";
import { eventsRouter } from "./routes/events";
import { type BrokerStatus, operationsRouter } from "./routes/operations";
import { operatorsRouter } from "./routes/operators";
import { type ProtocolLimits, protocolRouter } from "./routes/protocol";
import { telemetryRouter } from "./routes/telemetry";

export function createApp(
  ctx: HeadContext,
  options: { brokerStatus: () => BrokerStatus; version: string },
): Express {
  const { config, metrics } = ctx;
  const exempt = exemptSources(config.rateLimitExempt);
  const limits: ProtocolLimits = {
    joinRate: rateLimit(
      new TokenBuckets(config.joinRate, config.joinBurst, config.rateLimitSources),
      "rate_join",
      exempt,
      metrics,
    ),
    joinGate: concurrencyGate(config.maxConcurrentJoins, metrics),
  };
  // JSON is parsed only on the routes that take it, after the operator is authenticated.
  const jsonBody = express.json({ limit: config.maxJsonBody, strict: true });
  const app = express();
  app.disable("x-powered-by");
  app.set("query parser", "simple");
  app.use(requestContext(ctx.logger, metrics));
  // Every request takes a token from its source's API bucket; join routes one more from the join bucket.
  app.use(
    rateLimit(
      new TokenBuckets(config.apiRate, config.apiBurst, config.rateLimitSources),
      "rate_api",
      exempt,
      metrics,
    ),
  );
  app.get("/openapi.json", (_req, res) => {
    res.json(openApiDocument(options.version));
  });
  app.use(operationsRouter(ctx, options.brokerStatus));
  app.use(devicesRouter(ctx, jsonBody));
  app.use(operatorsRouter(ctx, jsonBody));
  app.use(protocolRouter(ctx, limits));
  app.use(dashboardRouter(ctx, options.brokerStatus));
  app.use(eventsRouter(ctx));
  // The collector's token file is read here, once, at start.
  app.use(telemetryRouter(ctx, collectorClientFor(config)));
  app.use(notFound);
  app.use(errorHandler(ctx.logger, ctx.metrics));
  return app;
}
