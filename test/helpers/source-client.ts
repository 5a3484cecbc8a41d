/**
 * HTTP(S) requests from a chosen loopback source address (127.0.0.2, 127.0.0.3, …), so one test
 * can play several clients that a head tells apart by peer address. Real sockets, no agent reuse.
 */
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";

export interface SourceAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** The body parsed as the head's JSON error, when it is one. */
  code: string | undefined;
}

export interface SourceRequest {
  /** Local address to send from, e.g. "127.0.0.2". */
  from: string;
  method?: string;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
  /** PEM CA (or certificate) to trust for an https URL. */
  ca?: string | Buffer;
}

/** One request to `url` from `o.from`; resolves with the whole answer. */
export function requestFrom(url: string, o: SourceRequest): Promise<SourceAnswer> {
  const target = new URL(url);
  const send = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      target,
      {
        method: o.method ?? "POST",
        localAddress: o.from,
        agent: false,
        headers: {
          ...(o.body === undefined ? { "content-length": "0" } : {}),
          ...o.headers,
        },
        ...(o.ca ? { ca: o.ca } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const body = Buffer.concat(chunks);
          let code: string | undefined;
          try {
            code = (JSON.parse(body.toString("utf8")) as { error?: { code?: string } }).error?.code;
          } catch {
            code = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, code });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(o.body === undefined ? undefined : Buffer.from(o.body));
  });
}

/** POSTs a protocol message (or nothing) from `from`. */
export function postFrom(
  url: string,
  from: string,
  body?: Uint8Array,
  ca?: string | Buffer,
): Promise<SourceAnswer> {
  return requestFrom(url, {
    from,
    ...(body ? { body, headers: { "content-type": "application/octet-stream" } } : {}),
    ...(ca ? { ca } : {}),
  });
}
