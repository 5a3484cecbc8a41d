/**
 * Protocol messages travel over HTTP as raw bytes (`application/octet-stream`), never JSON. This
 * reads them on bare node:http with the refusals express.raw gave them (same codes, same order),
 * but answers a body over its limit as soon as the limit is crossed instead of reading it all.
 */
import type { IncomingMessage } from "node:http";
import { HeadError } from "../errors";

/** The largest protocol message a device sends the head, with room to spare. */
export const MAX_PROTOCOL_MESSAGE_BYTES = 1024;

export const PROTOCOL_MEDIA_TYPE = "application/octet-stream";

/** The protocol media type, parameters and case aside, with optional whitespace (RFC 9110 §8.3). */
const PROTOCOL_CONTENT_TYPE = /^[ \t]*application\/octet-stream[ \t]*(?:;|$)/i;

/**
 * Bytes of a refused body the head reads and drops after answering, so the client, still sending,
 * reads the answer instead of a reset; past this the connection is cut.
 */
const DISCARD_LIMIT_BYTES = 64 * 1024;

/** Whether the request frames a body at all (RFC 9112 §6.1: a Content-Length or a Transfer-Encoding). */
function hasBody(req: IncomingMessage): boolean {
  return req.headers["transfer-encoding"] !== undefined || req.headers["content-length"] !== undefined;
}

/** Reads and drops what is left of a refused body, up to {@link DISCARD_LIMIT_BYTES}; then cuts. */
function discardRest(req: IncomingMessage): void {
  let dropped = 0;
  req.on("data", (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > DISCARD_LIMIT_BYTES) req.socket.destroy();
  });
  req.resume();
}

/**
 * Reads a protocol message body of at most `limit` bytes.
 * @returns the bytes, or undefined when the request has no body or is not `application/octet-stream`
 *   (left unread: {@link protocolMessage} refuses it)
 * @throws HeadError `E_UNSUPPORTED_MEDIA_TYPE` for a `Content-Encoding` other than identity,
 *   `E_PAYLOAD_TOO_LARGE` as soon as the announced length or the bytes received pass `limit`,
 *   `E_VALIDATION` when the request is cut off or its length is not the announced one
 */
export function readProtocolBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  if (!hasBody(req) || !PROTOCOL_CONTENT_TYPE.test(req.headers["content-type"] ?? ""))
    return Promise.resolve(undefined);
  // Devices never compress a message of a few hundred bytes; a decoder would be one more thing to bound.
  if ((req.headers["content-encoding"] || "identity").toLowerCase() !== "identity") {
    discardRest(req);
    return Promise.reject(new HeadError("E_UNSUPPORTED_MEDIA_TYPE", "unsupported body encoding"));
  }
  const declared =
    req.headers["content-length"] === undefined ? undefined : Number(req.headers["content-length"]);
  if (declared !== undefined && declared > limit) {
    discardRest(req);
    return Promise.reject(new HeadError("E_PAYLOAD_TOO_LARGE", "request body too large"));
  }
  return new Promise((resolve, reject) => {
    // A message of a few hundred bytes arrives in one chunk, a buffer of its own (node:http copies
    // each body chunk out of the socket's): taken as it is, copied only when there are several.
    // The listeners stay until the request is gone; `settled` makes them inert, cheaper than four
    // removals per request.
    let first: Buffer | undefined;
    let rest: Buffer[] | undefined;
    let received = 0;
    let settled = false;
    const fail = (error: HeadError) => {
      settled = true;
      reject(error);
    };
    req.on("data", (chunk: Buffer) => {
      if (settled) return;
      received += chunk.length;
      if (received > limit) {
        fail(new HeadError("E_PAYLOAD_TOO_LARGE", "request body too large"));
        discardRest(req);
      } else if (first === undefined) first = chunk;
      else (rest ??= [first]).push(chunk);
    });
    req.on("end", () => {
      if (settled) return;
      if (declared !== undefined && received !== declared)
        return fail(new HeadError("E_VALIDATION", "malformed request body"));
      settled = true;
      resolve(rest ? Buffer.concat(rest, received) : (first ?? Buffer.alloc(0)));
    });
    // Cut off before the end: the client is gone, the answer is only counted.
    const cutOff = () => {
      if (!settled) fail(new HeadError("E_VALIDATION", "malformed request body"));
    };
    req.on("close", cutOff);
    req.on("error", cutOff);
  });
}

/**
 * The request's protocol message from {@link readProtocolBody}'s result; refuses other media types
 * (and requests without a body) and empty bodies.
 */
export function protocolMessage(body: Buffer | undefined): Uint8Array {
  if (body === undefined)
    throw new HeadError("E_UNSUPPORTED_MEDIA_TYPE", `send the message as ${PROTOCOL_MEDIA_TYPE}`);
  if (body.length === 0) throw new HeadError("E_VALIDATION", "empty message");
  return new Uint8Array(body.buffer, body.byteOffset, body.length);
}
