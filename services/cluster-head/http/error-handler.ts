/**
 * The single error middleware: every failure becomes `{ "error": { "code", "message" } }` with the
 * status of its code. Stack traces and internal messages stay in the log.
 */
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
  // abstract-level errors carry LEVEL_* codes: the store failed, nothing was acknowledged.
  const levelCode = (error as { code?: unknown })?.code;
  if (typeof levelCode === "string" && levelCode.startsWith("LEVEL_")) {
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

export function errorHandler(logger: Logger, metrics: HeadMetrics): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const headError = toHeadError(error);
    const code: HeadErrorCode = headError.code;
    metrics.refusals.inc({ code });
    if (code === "E_PAYLOAD_TOO_LARGE") metrics.limitRefusals.inc({ limit: "body" });
    const log = (req as { log?: Logger }).log ?? logger;
    if (code === "E_INTERNAL" || code === "E_STORAGE") log.error({ err: error }, "request failed");
    else log.info({ code }, "request refused");
    if (res.headersSent) return;
    res.status(statusOf(code)).json({ error: { code, message: headError.message } });
  };
}

export const notFound: RequestHandler = (_req, _res, next) => {
  next(new HeadError("E_NOT_FOUND", "no such route"));
};
