/**
 * Request tracking (http/request-context.ts): the request ID every answer carries, and the count,
 * latency and debug line of each answer once it is sent, under the route that took it.
 */
import { EventEmitter } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Writable } from "node:stream";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { trackRequest, UNMATCHED_ROUTE } from "../../../../services/cluster-head/http/request-context";
import { createMetrics } from "../../../../services/cluster-head/metrics";

/** A response that keeps its headers and emits `finish` when told. */
class FakeResponse extends EventEmitter {
  statusCode = 200;
  readonly headers = new Map<string, string>();
  setHeader(name: string, value: string): void {
    this.headers.set(name, value);
  }
}

function setUp(requestId?: string) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString("utf8")) as Record<string, unknown>);
      done();
    },
  });
  const logger = pino({ level: "debug" }, sink);
  const metrics = createMetrics();
  const req = { method: "POST", headers: requestId === undefined ? {} : { "x-request-id": requestId } };
  const res = new FakeResponse();
  const scope = trackRequest(
    req as unknown as IncomingMessage,
    res as unknown as ServerResponse,
    logger,
    metrics,
  );
  return { lines, metrics, res, scope };
}

async function counted(metrics: ReturnType<typeof createMetrics>, labels: string): Promise<number> {
  const text = await metrics.registry.metrics();
  const line = text.split("\n").find((l) => l.startsWith(`iotguard_http_requests_total{${labels}} `));
  return line ? Number(line.split(" ")[1]) : 0;
}

describe("trackRequest", () => {
  it("answers the client's x-request-id when it is a plain token of at most 64 characters, else a fresh UUID", () => {
    expect(setUp("trace-7").res.headers.get("x-request-id")).toBe("trace-7");
    for (const presented of [undefined, "a b", "x".repeat(65), ""]) {
      const { res, scope } = setUp(presented);
      expect(res.headers.get("x-request-id")).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
      expect(scope.requestId).toBe(res.headers.get("x-request-id"));
    }
  });

  it("counts and logs the answer when it is sent, under the route set by then", async () => {
    const { lines, metrics, res, scope } = setUp("trace-8");
    expect(scope.route).toBe(UNMATCHED_ROUTE);
    scope.route = "/v1/sessions";
    res.statusCode = 201;
    expect(await counted(metrics, 'route="/v1/sessions",method="POST",status="201"')).toBe(0);
    res.emit("finish");
    expect(await counted(metrics, 'route="/v1/sessions",method="POST",status="201"')).toBe(1);
    const latency = (await metrics.requestSeconds.get()).values.find(
      (v) => v.metricName === "iotguard_http_request_seconds_count",
    );
    expect(latency).toMatchObject({ labels: { route: "/v1/sessions" }, value: 1 });
    expect(lines).toEqual([
      expect.objectContaining({
        level: 20,
        msg: "request",
        requestId: "trace-8",
        method: "POST",
        route: "/v1/sessions",
        status: 201,
      }),
    ]);
  });

  it("counts a request no route took as unmatched", async () => {
    const { metrics, res } = setUp();
    res.statusCode = 429;
    res.emit("finish");
    expect(await counted(metrics, 'route="unmatched",method="POST",status="429"')).toBe(1);
  });

  it("binds the request ID to the request's logger", () => {
    const { lines, scope } = setUp("trace-9");
    scope.log().info({ code: "E_VALIDATION" }, "request refused");
    expect(lines).toEqual([expect.objectContaining({ requestId: "trace-9", msg: "request refused" })]);
    expect(scope.log()).toBe(scope.log());
  });
});
