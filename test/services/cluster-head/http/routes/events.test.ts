/**
 * `GET /v1/events`: the live feed as server-sent events from a real head on a real chain: what an
 * enrollment and a revocation send, the bound on open streams, and that a closed stream frees its
 * place.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_EVENT_CLIENTS } from "../../../../../services/cluster-head/http/routes/events";
import { startTestChain, type TestChain } from "../../../../../testkit/chain";
import { makeTestDevice, startTestHead, type TestHead } from "../../../../../testkit/head";

interface Stream {
  events: { type: string; data: Record<string, unknown> }[];
  abort: AbortController;
  response: Response;
}

describe("event stream", () => {
  let chain: TestChain;
  let head: TestHead;

  beforeAll(async () => {
    chain = await startTestChain();
    head = await startTestHead(chain);
  });

  afterAll(async () => {
    await head?.destroy();
    await chain?.stop();
  });

  async function open(token = head.adminToken): Promise<Stream> {
    const abort = new AbortController();
    const response = await fetch(`${head.url}/v1/events`, {
      headers: { authorization: `Bearer ${token}` },
      signal: abort.signal,
    });
    const stream: Stream = { events: [], abort, response };
    if (!response.ok || !response.body) return stream;
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    void (async () => {
      let buffer = "";
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          buffer += value;
          let end: number;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const type = /^event: (.*)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (type && data) stream.events.push({ type, data: JSON.parse(data) as Record<string, unknown> });
          }
        }
      } catch {
        // aborted
      }
    })();
    return stream;
  }

  const waitFor = async (stream: Stream, type: string, deviceId: string) => {
    await expect
      .poll(() => stream.events.find((e) => e.type === type && e.data.deviceId === deviceId), {
        timeout: 5_000,
      })
      .toBeDefined();
  };

  it("streams an enrollment and a revocation seen on chain, with no secret in them", async () => {
    const stream = await open();
    expect(stream.response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    await expect.poll(() => stream.events.some((e) => e.type === "ready")).toBe(true);
    const device = makeTestDevice();
    expect((await head.operator("POST", "/v1/devices", device.enrollBody(head.clusterId))).status).toBe(201);
    await waitFor(stream, "device-enrolled", device.deviceIdHex);
    expect((await head.operator("POST", `/v1/devices/${device.deviceIdHex}/revoke`)).status).toBe(200);
    await waitFor(stream, "device-revoked", device.deviceIdHex);
    const text = JSON.stringify(stream.events);
    expect(text).not.toContain(head.adminToken);
    expect(text).not.toMatch(/proof|secret|memberKey/i);
    stream.abort.abort();
  });

  it("needs an operator token", async () => {
    const anonymous = await fetch(`${head.url}/v1/events`);
    expect(anonymous.status).toBe(401);
    expect((await open("iog1.nobody.wrong")).response.status).toBe(401);
  });

  it(`keeps at most ${MAX_EVENT_CLIENTS} streams open and frees a place when one closes`, async () => {
    const streams: Stream[] = [];
    for (let i = 0; i < MAX_EVENT_CLIENTS; i++) streams.push(await open());
    expect(streams.every((s) => s.response.status === 200)).toBe(true);
    const refused = await open();
    expect(refused.response.status).toBe(503);
    expect(((await refused.response.json()) as { error: { code: string } }).error.code).toBe("E_HEAD_BUSY");
    streams.pop()!.abort.abort();
    await expect.poll(async () => (await open().then((s) => (s.abort.abort(), s))).response.status).toBe(200);
    for (const s of streams) s.abort.abort();
  });
});
