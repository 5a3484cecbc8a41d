/**
 * The head's Express app: thin routes over the use cases, one error middleware, no stack traces to
 * clients, bounded bodies everywhere.
 */
import express, { type Express } from "express";
import type { HeadContext } from "../context";
import { errorHandler, notFound } from "./error-handler";
import { openApiDocument } from "./openapi";
import { requestContext } from "./request-context";
import { devicesRouter } from "./routes/devices";
import { type BrokerStatus, operationsRouter } from "./routes/operations";
import { protocolRouter } from "./routes/protocol";

/** JSON bodies are small: a batch of 200 enrollments is about 50 KiB. */
export const MAX_JSON_BODY = "64kb";

export function createApp(
  ctx: HeadContext,
  options: { adminToken: string; brokerStatus: () => BrokerStatus; version: string },
): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("query parser", "simple");
  app.use(requestContext(ctx.logger, ctx.metrics));
  app.use(express.json({ limit: MAX_JSON_BODY, strict: true }));
  app.get("/openapi.json", (_req, res) => {
    res.json(openApiDocument(options.version));
  });
  app.use(operationsRouter(ctx, options.adminToken, options.brokerStatus));
  app.use(devicesRouter(ctx, options.adminToken));
  app.use(protocolRouter(ctx));
  app.use(notFound);
  app.use(errorHandler(ctx.logger, ctx.metrics));
  return app;
}
