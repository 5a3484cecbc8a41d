/**
 * The protocol endpoint (http/protocol-endpoint.ts): the join and session routes on bare
 * node:http in front of the Express app, tried at their edges with real sockets against a real
 * head and chain. What Express answered on these paths before the move is what they answer now.
 */
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MessageSize } from "../../../../protocol/constants";
import { MAX_PROTOCOL_MESSAGE_BYTES } from "../../../../services/cluster-head/http/binary-body";
import { startTestChain, type TestChain } from "../../../../testkit/chain";
import { startTestHead, type TestHead } from "../../../../testkit/head";
import { buildSessionRequest, enrolled, joined, requestSession } from "../../../helpers/member-client";
import { requestFrom } from "../../../helpers/source-client";

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

interface RawRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  /** Body chunks, written one by one (chunked unless a Content-Length is given). */
  chunks?: Uint8Array[];
  /** Leave the request unfinished: the answer must come while the client is still sending. */
  open?: boolean;
  from?: string;
}

/** One request on its own socket; resolves with the whole answer, then ends the socket. */
function send(url: string, r: RawRequest): Promise<Answer> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: r.method ?? "POST",
        path: r.path,
        agent: false,
        headers: r.headers,
        ...(r.from ? { localAddress: r.from } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
          if (r.open) req.destroy();
        });
      },
    );
    req.on("error", reject);
    for (const chunk of r.chunks ?? []) req.write(chunk);
    if (!r.open) req.end();
  });
}

/** A protocol message of `n` bytes the head decodes and refuses (`E_MALFORMED`). */
function junk(n: number): Uint8Array {
  const bytes = new Uint8Array(n).fill(7);
  bytes[0] = 1;
  return bytes;
}

const OCTET = { "content-type": "application/octet-stream" };

/** `{ error: { code, message } }` of an answer. */
function errorOf(answer: Answer): { code: string; message: string } {
  expect(answer.headers["content-type"]).toBe("application/json; charset=utf-8");
  return (JSON.parse(answer.body.toString("utf8")) as { error: { code: string; message: string } }).error;
}

/** A counter's value in the head's /metrics (0 when never counted). */
async function counter(head: TestHead, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${head.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}} `));
  return line ? Number(line.split(" ")[1]) : 0;
}

describe("the protocol endpoint", () => {
  let chain: TestChain;
  let head: TestHead;
  /** Tight per-source limits, nobody exempt. */
  let limited: TestHead;

  beforeAll(async () => {
    chain = await startTestChain();
    head = await startTestHead(chain);
    limited = await startTestHead(chain, {
      clusterId: "2",
      rateLimitExempt: "none",
      apiRate: "0.01",
      apiBurst: "3",
      joinRate: "0.01",
      joinBurst: "1",
    });
  }, 60_000);
  afterAll(async () => {
    await head?.destroy();
    await limited?.destroy();
    await chain?.stop();
  });

  describe("paths and methods", () => {
    it("leaves GET on the join paths to Express, which answers 404 E_NOT_FOUND as before", async () => {
      for (const path of ["/v1/join/challenge", "/v1/join"]) {
        const answer = await send(head.url, { method: "GET", path });
        expect(answer.status, path).toBe(404);
        expect(errorOf(answer)).toEqual({ code: "E_NOT_FOUND", message: "no such route" });
      }
    });

    it("leaves GET /v1/sessions to the operator route, which wants a token", async () => {
      const answer = await send(head.url, { method: "GET", path: "/v1/sessions" });
      expect(answer.status).toBe(401);
      expect(errorOf(answer).code).toBe("E_UNAUTHORIZED");
    });

    it("answers PUT on a protocol path 404 E_NOT_FOUND", async () => {
      const answer = await send(head.url, { method: "PUT", path: "/v1/sessions", headers: OCTET });
      expect(answer.status).toBe(404);
      expect(errorOf(answer).code).toBe("E_NOT_FOUND");
    });

    it("answers OPTIONS on a join path with Allow: POST, as Express's router did", async () => {
      const answer = await send(head.url, { method: "OPTIONS", path: "/v1/join" });
      expect([answer.status, answer.headers.allow, answer.body.toString()]).toEqual([200, "POST", "POST"]);
    });

    it("matches paths as Express did: any case, one trailing slash, a query; nothing else", async () => {
      for (const path of ["/V1/JOIN/CHALLENGE", "/v1/join/challenge/", "/v1/join/challenge?x=1"])
        expect((await send(head.url, { path })).status, path).toBe(200);
      for (const path of ["/v1/join/challenge//", "/v1/join/challeng%65", "/v1/join/challenge/x"]) {
        const answer = await send(head.url, { path });
        expect(answer.status, path).toBe(404);
        expect(errorOf(answer).code).toBe("E_NOT_FOUND");
      }
    });

    it("answers a challenge as protocol bytes with x-request-id, echoing a well-formed one", async () => {
      const answer = await send(head.url, {
        path: "/v1/join/challenge",
        headers: { "x-request-id": "trace-7" },
      });
      expect(answer.status).toBe(200);
      expect(answer.headers["content-type"]).toBe("application/octet-stream");
      expect(answer.headers["x-request-id"]).toBe("trace-7");
      expect(answer.body.length).toBe(MessageSize.JOIN_CHALLENGE);
      const fresh = await send(head.url, { path: "/v1/join/challenge", headers: { "x-request-id": "a b" } });
      expect(fresh.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    });

    it("answers a grant as the session answer's bytes with x-iotguard-outcome: grant", async () => {
      const m1 = await joined(head, await enrolled(head));
      const m2 = await joined(head, await enrolled(head));
      const { response } = await requestSession(head, m1, m2);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("application/octet-stream");
      expect(response.headers.get("x-iotguard-outcome")).toBe("grant");
      expect((await response.arrayBuffer()).byteLength).toBe(2 * MessageSize.GRANT);
    });

    it("reads a grant request sent in several chunks as the one message it is", async () => {
      const m1 = await joined(head, await enrolled(head));
      const m2 = await joined(head, await enrolled(head));
      const { message } = buildSessionRequest(head, m1, m2).forward;
      const cut = [1, Math.floor(message.length / 2)];
      const answer = await send(head.url, {
        path: "/v1/sessions",
        headers: OCTET,
        chunks: [message.subarray(0, cut[0]), message.subarray(cut[0], cut[1]), message.subarray(cut[1])],
      });
      expect(answer.status).toBe(200);
      expect(answer.headers["x-iotguard-outcome"]).toBe("grant");
      expect(answer.body.length).toBe(2 * MessageSize.GRANT);
    });

    it("counts its answers under the route, as the Express routes were counted", async () => {
      const labels = 'route="/v1/sessions",method="POST",status="400"';
      const before = await counter(head, "iotguard_http_requests_total", labels);
      await send(head.url, { path: "/v1/sessions", headers: OCTET, chunks: [junk(50)] });
      expect(await counter(head, "iotguard_http_requests_total", labels)).toBe(before + 1);
    });
  });

  describe("bodies", () => {
    it.each([
      ["no Content-Type", {}],
      ["text/plain", { "content-type": "text/plain" }],
      ["JSON", { "content-type": "application/json" }],
      ["a wildcard", { "content-type": "*/*" }],
    ])("refuses a message sent with %s with E_UNSUPPORTED_MEDIA_TYPE", async (_what, headers) => {
      for (const path of ["/v1/sessions", "/v1/join"]) {
        const answer = await send(head.url, { path, headers, chunks: [junk(50)] });
        expect(answer.status, path).toBe(415);
        expect(errorOf(answer)).toEqual({
          code: "E_UNSUPPORTED_MEDIA_TYPE",
          message: "send the message as application/octet-stream",
        });
      }
    });

    it("refuses a request without a body with E_UNSUPPORTED_MEDIA_TYPE, as express.raw left it unread", async () => {
      const answer = await send(head.url, { path: "/v1/sessions", headers: { "content-length": "0" } });
      expect(answer.status).toBe(415);
      expect(errorOf(answer).code).toBe("E_UNSUPPORTED_MEDIA_TYPE");
    });

    it("reads application/octet-stream whatever its case and parameters", async () => {
      for (const type of ["Application/Octet-Stream", "application/octet-stream; charset=utf-8"]) {
        const answer = await send(head.url, {
          path: "/v1/sessions",
          headers: { "content-type": type },
          chunks: [junk(50)],
        });
        expect(answer.status, type).toBe(400);
        expect(errorOf(answer).code, type).toBe("E_MALFORMED");
      }
    });

    it("refuses a compressed body with E_UNSUPPORTED_MEDIA_TYPE", async () => {
      const answer = await send(head.url, {
        path: "/v1/sessions",
        headers: { ...OCTET, "content-encoding": "gzip" },
        chunks: [junk(50)],
      });
      expect(answer.status).toBe(415);
      expect(errorOf(answer)).toEqual({
        code: "E_UNSUPPORTED_MEDIA_TYPE",
        message: "unsupported body encoding",
      });
    });

    it("refuses an empty message with E_VALIDATION", async () => {
      for (const path of ["/v1/sessions", "/v1/join"]) {
        const answer = await send(head.url, { path, headers: { ...OCTET, "content-length": "0" } });
        expect(answer.status, path).toBe(400);
        expect(errorOf(answer)).toEqual({ code: "E_VALIDATION", message: "empty message" });
      }
    });

    it("refuses any body on the challenge with E_VALIDATION, unread", async () => {
      const answer = await send(head.url, { path: "/v1/join/challenge", headers: OCTET, chunks: [junk(2)] });
      expect(answer.status).toBe(400);
      expect(errorOf(answer)).toEqual({ code: "E_VALIDATION", message: "this route takes no body" });
    });

    it("takes a join body of exactly the hybrid JoinRequest's size and refuses one byte more with E_PAYLOAD_TOO_LARGE", async () => {
      const limit = MessageSize.JOIN_REQUEST_HYBRID;
      const fits = await send(head.url, { path: "/v1/join", headers: OCTET, chunks: [junk(limit)] });
      expect(errorOf(fits).code).not.toBe("E_PAYLOAD_TOO_LARGE");
      const over = await send(head.url, { path: "/v1/join", headers: OCTET, chunks: [junk(limit + 1)] });
      expect(over.status).toBe(413);
      expect(errorOf(over)).toEqual({ code: "E_PAYLOAD_TOO_LARGE", message: "request body too large" });
    });

    it("answers E_PAYLOAD_TOO_LARGE on an announced length past the limit without waiting for the body, counted in /metrics", async () => {
      const before = await counter(head, "iotguard_limit_refusals_total", 'limit="body"');
      // A Content-Length of a megabyte and ten bytes sent: the answer comes while the client still owes the rest.
      const answer = await send(head.url, {
        path: "/v1/sessions",
        headers: { ...OCTET, "content-length": "1000000" },
        chunks: [junk(10)],
        open: true,
      });
      expect(answer.status).toBe(413);
      expect(errorOf(answer).code).toBe("E_PAYLOAD_TOO_LARGE");
      expect(await counter(head, "iotguard_limit_refusals_total", 'limit="body"')).toBe(before + 1);
    });

    it("answers E_PAYLOAD_TOO_LARGE as soon as a chunked body passes the limit, with the client still sending", async () => {
      const answer = await send(head.url, {
        path: "/v1/sessions",
        headers: OCTET,
        chunks: [junk(MAX_PROTOCOL_MESSAGE_BYTES), junk(1)],
        open: true,
      });
      expect(answer.status).toBe(413);
      expect(errorOf(answer).code).toBe("E_PAYLOAD_TOO_LARGE");
    });

    it("keeps a connection usable after refusing a body over the limit that the client finished sending", async () => {
      const agentless = await fetch(`${head.url}/v1/sessions`, {
        method: "POST",
        headers: OCTET,
        body: new Uint8Array(5000),
      });
      expect(agentless.status).toBe(413);
      expect((await fetch(`${head.url}/v1/join/challenge`, { method: "POST" })).status).toBe(200);
    });

    it("counts a request cut off mid-body as an E_VALIDATION refusal and goes on serving", async () => {
      const before = await counter(head, "iotguard_refusals_total", 'code="E_VALIDATION"');
      const target = new URL(head.url);
      // Expect: 100-continue makes the head say when it has the request; then half the body, then gone.
      const req = httpRequest({
        host: target.hostname,
        port: target.port,
        method: "POST",
        path: "/v1/sessions",
        agent: false,
        headers: { ...OCTET, "content-length": "500", expect: "100-continue" },
      });
      req.on("error", () => {});
      await new Promise<void>((resolve) => req.once("continue", resolve));
      await new Promise<void>((resolve) => req.write(junk(100), () => resolve()));
      req.destroy();
      await expect
        .poll(() => counter(head, "iotguard_refusals_total", 'code="E_VALIDATION"'), { timeout: 10_000 })
        .toBe(before + 1);
      expect((await send(head.url, { path: "/v1/join/challenge" })).status).toBe(200);
    });
  });

  describe("limits", () => {
    it("takes the API token from the same bucket as the Express routes, then refuses with E_RATE_LIMITED and Retry-After", async () => {
      const from = "127.0.0.21";
      const before = await counter(limited, "iotguard_limit_refusals_total", 'limit="rate_api"');
      // Two tokens spent on Express routes, the third on the endpoint: the bucket (burst 3) is empty.
      expect((await requestFrom(`${limited.url}/health`, { from, method: "GET" })).status).toBe(200);
      expect((await requestFrom(`${limited.url}/openapi.json`, { from, method: "GET" })).status).toBe(200);
      const third = await send(limited.url, {
        path: "/v1/sessions",
        headers: OCTET,
        chunks: [junk(50)],
        from,
      });
      expect(errorOf(third).code).toBe("E_MALFORMED");
      const refused = await send(limited.url, {
        path: "/v1/sessions",
        headers: OCTET,
        chunks: [junk(50)],
        from,
      });
      expect(refused.status).toBe(429);
      expect(errorOf(refused)).toEqual({
        code: "E_RATE_LIMITED",
        message: "too many requests from this source; retry later",
      });
      expect(Number(refused.headers["retry-after"])).toBeGreaterThanOrEqual(1);
      // And Express refuses the same source next: one bucket.
      const onExpress = await requestFrom(`${limited.url}/health`, { from, method: "GET" });
      expect(onExpress.status).toBe(429);
      expect(onExpress.body.toString()).toBe(refused.body.toString());
      expect(onExpress.headers["content-type"]).toBe(refused.headers["content-type"]);
      expect(await counter(limited, "iotguard_limit_refusals_total", 'limit="rate_api"')).toBe(before + 2);
    });

    it("counts a request the API bucket refused as unmatched, and the ones it let through under their route", async () => {
      const from = "127.0.0.24";
      // Each read of /metrics from its own source: the limited head spares no address a token.
      const counts = async (reader: string) => {
        const text = (
          await requestFrom(`${limited.url}/metrics`, { from: reader, method: "GET" })
        ).body.toString();
        const value = (labels: string) =>
          Number(
            text
              .split("\n")
              .find((l) => l.startsWith(`iotguard_http_requests_total{${labels}} `))
              ?.split(" ")[1] ?? 0,
          );
        return [
          value('route="/v1/sessions",method="POST",status="400"'),
          value('route="unmatched",method="POST",status="429"'),
        ];
      };
      const [routed, unmatched] = await counts("127.0.0.25");
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++)
        statuses.push(
          (await send(limited.url, { path: "/v1/sessions", headers: OCTET, chunks: [junk(50)], from }))
            .status,
        );
      expect(statuses).toEqual([400, 400, 400, 429]);
      expect(await counts("127.0.0.26")).toEqual([routed! + 3, unmatched! + 1]);
    });

    it("refuses a second challenge from a source past its join bucket with E_RATE_LIMITED and Retry-After", async () => {
      const from = "127.0.0.22";
      expect((await send(limited.url, { path: "/v1/join/challenge", from })).status).toBe(200);
      const refused = await send(limited.url, { path: "/v1/join/challenge", from });
      expect(refused.status).toBe(429);
      expect(errorOf(refused).code).toBe("E_RATE_LIMITED");
      expect(Number(refused.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    });

    it("checks the join bucket before the body: an oversized join from a source past it is 429, not 413", async () => {
      const from = "127.0.0.23";
      expect((await send(limited.url, { path: "/v1/join/challenge", from })).status).toBe(200);
      const refused = await send(limited.url, {
        path: "/v1/join",
        headers: OCTET,
        chunks: [junk(MessageSize.JOIN_REQUEST_HYBRID + 1)],
        from,
      });
      expect(refused.status).toBe(429);
    });
  });
});
