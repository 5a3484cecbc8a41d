/** Protocol messages travel over HTTP as raw bytes (`application/octet-stream`), never JSON. */
import express, { type Request, type RequestHandler } from "express";
import { HeadError } from "../errors";

/** The largest protocol message a device sends the head, with room to spare. */
export const MAX_PROTOCOL_MESSAGE_BYTES = 1024;

export const PROTOCOL_MEDIA_TYPE = "application/octet-stream";

/** Parses a raw body of at most {@link MAX_PROTOCOL_MESSAGE_BYTES}. */
export const rawProtocolBody: RequestHandler = express.raw({
  type: PROTOCOL_MEDIA_TYPE,
  limit: MAX_PROTOCOL_MESSAGE_BYTES,
});

/** The request's protocol message bytes; refuses other media types and empty bodies. */
export function protocolMessage(req: Request): Uint8Array {
  if (!req.is(PROTOCOL_MEDIA_TYPE))
    throw new HeadError("E_UNSUPPORTED_MEDIA_TYPE", `send the message as ${PROTOCOL_MEDIA_TYPE}`);
  const body: unknown = req.body;
  if (!Buffer.isBuffer(body) || body.length === 0) throw new HeadError("E_VALIDATION", "empty message");
  return new Uint8Array(body.buffer, body.byteOffset, body.length);
}
