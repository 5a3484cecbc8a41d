/**
 * The one error shape, for the Express app (`errorHandler`) and the protocol endpoint
 * (`writeError`) alike: every failure becomes `{ "error": { "code", "message" } }` with the status
 * of its code. Stack traces and internal messages stay in the log.
 */
import type { ServerResponse } from "node:http";
import type { ErrorRequestHandler, RequestHandler } from "express";
import type { Logger } from "pino";
import { ZodError } from "zod";
import { ProtocolError } from "../../../protocol";
import { HeadError, type HeadErrorCode, statusOf } from "../errors";
import type { HeadMetrics } from "../metrics";

interface BodyParserError {
  type?: string;
  status?: number;
}

/** Turns any thrown value into a HeadError a client may see. */
export function toHeadError(error: unknown): HeadError {
  if (error instanceof HeadError) return error;
  if (error instanceof ProtocolError)
    return new HeadError(error.code, error.message.replace(`${error.code}: `, ""));
  if (error instanceof ZodError) {
    const issue = error.issues[0];
    const where = issue?.path.length ? issue.path.join(".") : "body";
    return new HeadError("E_VALIDATION", `${where}: ${issue?.message ?? "invalid"}`);
  }
  // abstract-level errors carry LEVEL_* codes, the grant journal's JOURNAL_*: the store failed,
  // nothing was acknowledged.
  const storeCode = (error as { code?: unknown })?.code;
  if (typeof storeCode === "string" && (storeCode.startsWith("LEVEL_") || storeCode.startsWith("JOURNAL_"))) {
    return new HeadError("E_STORAGE", "the head's database is unavailable");
  }
  const parserError = error as BodyParserError;
  switch (parserError?.type) {
    case "entity.too.large":
      return new HeadError("E_PAYLOAD_TOO_LARGE", "request body too large");
    case "entity.parse.failed":
      return new HeadError("E_VALIDATION", "body is not valid JSON");
    case "encoding.unsupported":
    case "charset.unsupported":
      return new HeadError("E_UNSUPPORTED_MEDIA_TYPE", "unsupported body encoding");
    case "request.aborted":
    case "request.size.invalid":
    case "stream.encoding.set":
      return new HeadError("E_VALIDATION", "malformed request body");
  }
  if (parserError?.status && parserError.status >= 400 && parserError.status < 500) {
    return new HeadError("E_VALIDATION", "malformed request");
  }
  return new HeadError("E_INTERNAL", "internal error");
}

/** The JSON body of every refusal. */
export interface ErrorBody {
  error: { code: HeadErrorCode; message: string };
}

/**
 * Turns a failure into its answer, counted in `iotguard_refusals_total` (and a body-limit refusal
 * in `iotguard_limit_refusals_total`) and logged: internal and storage failures with their cause,
 * other refusals by code only.
 * @returns the status and body to answer with
 */
export function refusalOf(
  error: unknown,
  log: Logger,
  metrics: HeadMetrics,
): { status: number; body: ErrorBody } {
  const headError = toHeadError(error);
  const code: HeadErrorCode = headError.code;
  metrics.refusals.inc({ code });
  if (code === "E_PAYLOAD_TOO_LARGE") metrics.limitRefusals.inc({ limit: "body" });
  if (code === "E_INTERNAL" || code === "E_STORAGE") log.error({ err: error }, "request failed");
  else log.info({ code }, "request refused");
  return { status: statusOf(code), body: { error: { code, message: headError.message } } };
}

export function errorHandler(logger: Logger, metrics: HeadMetrics): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const { status, body } = refusalOf(error, (req as { log?: Logger }).log ?? logger, metrics);
    if (res.headersSent) return;
    res.status(status).json(body);
  };
}

/**
 * {@link refusalOf} answered on a bare node:http response, with the same body and status as the
 * Express handler and `Content-Type: application/json; charset=utf-8`. Headers set before (such
 * as `Retry-After` or `x-request-id`) are kept; nothing is written once the answer has started.
 */
export function writeError(res: ServerResponse, error: unknown, log: Logger, metrics: HeadMetrics): void {
  const { status, body } = refusalOf(error, log, metrics);
  if (res.headersSent || res.destroyed) return;
  const json = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader("content-type", "application/json; charset=utf-8");
  res.setHeader("content-length", Buffer.byteLength(json));
  res.end(json);
}

export const notFound: RequestHandler = (_req, _res, next) => {
  next(new HeadError("E_NOT_FOUND", "no such route"));
};
