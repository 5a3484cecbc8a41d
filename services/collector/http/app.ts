/**
 * The collector's HTTP API: health, metrics, its OpenAPI document and `GET /v1/readings`
 * (docs/telemetry.md § Reading back). Every refusal is `{ error: { code, message } }`.
 */
import express, { type ErrorRequestHandler, type RequestHandler } from "express";
import type { Logger } from "pino";
import { ZodError } from "zod";
import { tokenMatches } from "../api-token";
import { COLLECTOR_ERROR_STATUS, CollectorError } from "../errors";
import type { CollectorMetrics } from "../metrics";
import type { ReadingStore } from "../storage/reading-store";
import { openApiDocument } from "./openapi";
import { decodeCursor, encodeCursor, readingsQuerySchema } from "./readings-query";

export interface AppContext {
  store: ReadingStore;
  metrics: CollectorMetrics;
  logger: Logger;
  token: string;
  version: string;
  status(): { deviceId: string; database: string; databaseUp: boolean; buffered: number };
}

function requireToken(token: string): RequestHandler {
  return (req, _res, next) => {
    const header = req.headers.authorization ?? "";
    const given = header.startsWith("Bearer ") ? header.slice(7) : "";
    if (!given || !tokenMatches(token, given))
      return next(new CollectorError("E_UNAUTHORIZED", "missing or wrong bearer token"));
    next();
  };
}

function toCollectorError(error: unknown): CollectorError {
  if (error instanceof CollectorError) return error;
  if (error instanceof ZodError) {
    const issue = error.issues[0];
    const where = issue?.path.length ? issue.path.join(".") : "query";
    return new CollectorError("E_VALIDATION", `${where}: ${issue?.message ?? "invalid"}`);
  }
  return new CollectorError("E_INTERNAL", "internal error");
}

export function createApp(ctx: AppContext): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("query parser", "simple");

  app.get("/health", (_req, res) => {
    const s = ctx.status();
    res.status(s.databaseUp ? 200 : 503).json({ status: s.databaseUp ? "ok" : "database-down", ...s });
  });
  app.get("/metrics", async (_req, res) => {
    res.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });
  app.get("/openapi.json", (_req, res) => {
    res.json(openApiDocument(ctx.version));
  });
  app.get("/v1/readings", requireToken(ctx.token), async (req, res) => {
    const q = readingsQuerySchema.parse(req.query);
    let rows;
    try {
      rows = await ctx.store.page({
        limit: q.limit,
        ...(q.device === undefined ? {} : { deviceId: q.device }),
        ...(q.from === undefined ? {} : { fromMs: q.from }),
        ...(q.to === undefined ? {} : { toMs: q.to }),
        ...(q.cursor === undefined ? {} : { after: decodeCursor(q.cursor) }),
      });
    } catch (error) {
      if (error instanceof CollectorError) throw error;
      ctx.logger.error({ err: { message: (error as Error).message } }, "reading query failed");
      throw new CollectorError("E_STORAGE", "the collector's database is unavailable");
    }
    const last = rows[rows.length - 1];
    res.json({
      readings: rows,
      nextCursor:
        rows.length === q.limit && last ? encodeCursor({ timeMs: last.deviceTimeMs, id: last.id }) : null,
    });
  });

  app.use((_req, _res, next) => next(new CollectorError("E_NOT_FOUND", "no such route")));
  const onError: ErrorRequestHandler = (error, _req, res, _next) => {
    const e = toCollectorError(error);
    if (e.code === "E_INTERNAL") ctx.logger.error({ err: error }, "request failed");
    if (res.headersSent) return;
    res.status(COLLECTOR_ERROR_STATUS[e.code]).json({ error: { code: e.code, message: e.message } });
  };
  app.use(onError);
  return app;
}
