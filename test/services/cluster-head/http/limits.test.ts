/**
 * The head's abuse limits (http/limits.ts) tried past their bounds with real requests from real
 * loopback sources (127.0.0.2, 127.0.0.3, …) against a real head and chain.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HeadClient } from "../../../../device/sdk/head-client";
import { fromHex } from "../../../../protocol/bytes";
import { MessageSize } from "../../../../protocol/constants";
import { startJoin } from "../../../../protocol/join/device";
import { exemptSources, sourceOf, TokenBuckets } from "../../../../services/cluster-head/http/limits";
import { startTestChain, type TestChain } from "../../../../testkit/chain";
import { makeTestDevice, startTestHead, type TestDevice, type TestHead } from "../../../../testkit/head";
import { errorCode, INSIDE } from "../../../helpers/member-client";
import { postFrom, requestFrom } from "../../../helpers/source-client";

/** A limit-refusal counter's value in the head's /metrics (0 when never counted). */
async function limitRefusals(head: TestHead, limit: string): Promise<number> {
  const text = await (await fetch(`${head.url}/metrics`)).text();
  const match = new RegExp(`^iotguard_limit_refusals_total\\{limit="${limit}"\\} (\\d+)$`, "m").exec(text);
  return match ? Number(match[1]) : 0;
}

/** A JoinRequest for `device` on a fresh challenge fetched from `from`. */
async function joinRequestFrom(head: TestHead, device: TestDevice, from: string): Promise<Uint8Array> {
  const challenge = await postFrom(`${head.url}/v1/join/challenge`, from);
  expect(challenge.status, challenge.body.toString()).toBe(200);
  return startJoin({
    challengeMessage: new Uint8Array(challenge.body),
    clusterId: head.clusterId,
    headAddress: fromHex(head.headAddress.slice(2)),
    deviceId: device.deviceId,
    deviceSecretKey: device.identity.secretKey,
    position: INSIDE,
  }).request;
}

describe("token buckets", () => {
  it("give a new source its burst, then one token per 1/rate seconds, and say how long to wait", () => {
    let now = 0;
    const buckets = new TokenBuckets(2, 3, 10, () => now);
    expect([buckets.take("a"), buckets.take("a"), buckets.take("a")]).toEqual([0, 0, 0]);
    expect(buckets.take("a")).toBe(500);
    now += 499;
    expect(buckets.take("a")).toBe(1);
    now += 1;
    expect(buckets.take("a")).toBe(0);
    expect(buckets.take("b")).toBe(0);
  });

  it("never hold more than the burst however long a source was idle", () => {
    let now = 0;
    const buckets = new TokenBuckets(100, 2, 10, () => now);
    buckets.take("a");
    now += 3_600_000;
    expect([buckets.take("a"), buckets.take("a")]).toEqual([0, 0]);
    expect(buckets.take("a")).toBeGreaterThan(0);
  });

  it("keep at most maxSources buckets, forgetting the source seen least recently", () => {
    const now = 0;
    const buckets = new TokenBuckets(1, 1, 2, () => now);
    buckets.take("a");
    buckets.take("b");
    expect(buckets.take("a")).toBeGreaterThan(0); // a is now the most recent
    buckets.take("c"); // evicts b
    expect(buckets.size).toBe(2);
    expect(buckets.take("a")).toBeGreaterThan(0);
    expect(buckets.take("b")).toBe(0); // forgotten: a full bucket again (evicts c)
  });

  it("refuse a rate, burst or size that is not positive", () => {
    expect(() => new TokenBuckets(0, 1, 1)).toThrow(RangeError);
    expect(() => new TokenBuckets(1, 0, 1)).toThrow(RangeError);
    expect(() => new TokenBuckets(1, 1, 0)).toThrow(RangeError);
  });
});

describe("request sources", () => {
  const of = (remoteAddress: string) => sourceOf({ socket: { remoteAddress } } as never);

  it("are the IPv4 address, unwrapped from IPv4-mapped IPv6", () => {
    expect(of("192.0.2.7")).toBe("192.0.2.7");
    expect(of("::ffff:192.0.2.7")).toBe("192.0.2.7");
  });

  it("are the /64 prefix of an IPv6 address, however it is written", () => {
    expect(of("2001:db8:0:1:aaaa::1")).toBe("2001:db8:0:1::/64");
    expect(of("2001:0db8:0000:0001:ffff:ffff:ffff:ffff")).toBe("2001:db8:0:1::/64");
    expect(of("::1")).toBe("0:0:0:0::/64");
    expect(exemptSources(["::1", "127.0.0.1"])).toEqual(new Set(["0:0:0:0::/64", "127.0.0.1"]));
  });
});

describe("abuse limits against a real head", () => {
  let chain: TestChain;
  /** Tight per-source limits; the head's own loopback address stays exempt (the default). */
  let limited: TestHead;
  /** One join verified at a time. */
  let narrow: TestHead;

  beforeAll(async () => {
    chain = await startTestChain();
    limited = await startTestHead(chain, {
      joinRate: "0.2",
      joinBurst: "6",
      apiRate: "0.5",
      apiBurst: "12",
      maxJsonBody: "2048",
    });
    narrow = await startTestHead(chain, { clusterId: "2", maxConcurrentJoins: "1" });
  }, 60_000);
  afterAll(async () => {
    await limited?.destroy();
    await narrow?.destroy();
    await chain?.stop();
  });

  it("refuses a source past its join bucket with E_RATE_LIMITED and Retry-After, counted in /metrics", async () => {
    const before = await limitRefusals(limited, "rate_join");
    const answers = [];
    for (let i = 0; i < 8; i++) answers.push(await postFrom(`${limited.url}/v1/join/challenge`, "127.0.0.4"));
    expect(answers.slice(0, 6).map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200]);
    for (const refused of answers.slice(6)) {
      expect(refused.status).toBe(429);
      expect(refused.code).toBe("E_RATE_LIMITED");
      expect(Number(refused.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    }
    expect(await limitRefusals(limited, "rate_join")).toBe(before + 2);
    // Another source has its own bucket.
    expect((await postFrom(`${limited.url}/v1/join/challenge`, "127.0.0.5")).status).toBe(200);
  });

  it("refuses a source past its API bucket on any route, health included", async () => {
    const before = await limitRefusals(limited, "rate_api");
    const statuses: number[] = [];
    for (let i = 0; i < 14; i++)
      statuses.push(
        (await requestFrom(`${limited.url}/health`, { from: "127.0.0.6", method: "GET" })).status,
      );
    expect(statuses.filter((s) => s === 429)).toHaveLength(2);
    expect(statuses.slice(0, 12).every((s) => s !== 429)).toBe(true);
    expect(await limitRefusals(limited, "rate_api")).toBe(before + 2);
  });

  it("does not stop a legitimate device's join while another source floods the join routes", async () => {
    const device = makeTestDevice();
    expect((await limited.operator("POST", "/v1/devices", device.enrollBody(1))).status).toBe(201);
    const junk = new Uint8Array(MessageSize.JOIN_REQUEST).fill(7);
    junk[0] = 1;
    let flooding = true;
    const flood = Promise.all(
      Array.from({ length: 8 }, async (_, worker) => {
        const answers: number[] = [];
        while (flooding && answers.length < 500) {
          const path = worker % 2 ? "/v1/join" : "/v1/join/challenge";
          answers.push(
            (await postFrom(`${limited.url}${path}`, "127.0.0.2", worker % 2 ? junk : undefined)).status,
          );
        }
        return answers;
      }),
    );
    const request = await joinRequestFrom(limited, device, "127.0.0.3");
    const joined = await postFrom(`${limited.url}/v1/join`, "127.0.0.3", request);
    flooding = false;
    const floodAnswers = (await flood).flat();
    expect(joined.status, joined.body.toString()).toBe(200);
    expect(joined.body.length).toBe(MessageSize.JOIN_RESPONSE);
    // The flood got a handful through its bucket and 429 for the rest.
    expect(floodAnswers.filter((s) => s === 429).length).toBeGreaterThan(floodAnswers.length / 2);
  });

  it("exempts the head's own loopback address by default", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await limited.post("/v1/join/challenge")).status);
    expect(statuses.every((s) => s === 200)).toBe(true);
  });

  it("answers E_HEAD_BUSY with Retry-After past the concurrent-join bound, before the join consumes anything", async () => {
    const devices = Array.from({ length: 40 }, () => makeTestDevice());
    const enrolled = await narrow.operator("POST", "/v1/devices/batch", {
      devices: devices.map((d) => d.enrollBody(2)),
    });
    expect(enrolled.status).toBe(201);
    const requests = await Promise.all(devices.map((d) => joinRequestFrom(narrow, d, "127.0.0.1")));
    const before = await limitRefusals(narrow, "busy");
    const answers = await Promise.all(requests.map((r) => postFrom(`${narrow.url}/v1/join`, "127.0.0.1", r)));
    const busy = answers.flatMap((a, i) => (a.status === 503 ? [i] : []));
    expect(busy.length).toBeGreaterThan(0);
    for (const [i, answer] of answers.entries()) {
      if (answer.status === 200) continue;
      expect([answer.status, answer.code, answer.headers["retry-after"]], `join ${i}`).toEqual([
        503,
        "E_HEAD_BUSY",
        "1",
      ]);
    }
    expect(await limitRefusals(narrow, "busy")).toBe(before + busy.length);
    // The busy joins' challenges were not consumed: the same requests join now, one at a time.
    for (const i of busy) {
      const retried = await postFrom(`${narrow.url}/v1/join`, "127.0.0.1", requests[i]!);
      expect(retried.status, retried.body.toString()).toBe(200);
    }
  });

  it("lets the device SDK's HeadClient wait out E_HEAD_BUSY (Retry-After) until every join is answered", async () => {
    const devices = Array.from({ length: 30 }, () => makeTestDevice());
    expect(
      (await narrow.operator("POST", "/v1/devices/batch", { devices: devices.map((d) => d.enrollBody(2)) }))
        .status,
    ).toBe(201);
    const before = await limitRefusals(narrow, "busy");
    const client = new HeadClient(narrow.url);
    const responses = await Promise.all(
      devices.map(async (device) =>
        client.join(
          startJoin({
            challengeMessage: await client.joinChallenge(),
            clusterId: 2,
            headAddress: fromHex(narrow.headAddress.slice(2)),
            deviceId: device.deviceId,
            deviceSecretKey: device.identity.secretKey,
            position: INSIDE,
          }).request,
        ),
      ),
    );
    expect(responses.map((r) => r.length)).toEqual(devices.map(() => MessageSize.JOIN_RESPONSE));
    // The bound was hit on the way (else this test proves nothing about the retries).
    expect(await limitRefusals(narrow, "busy")).toBeGreaterThan(before);
  }, 60_000);

  describe("bodies", () => {
    it.each([
      ["a JSON empty string", "application/json", '""'],
      ["a JSON array", "application/json", "[]"],
      ["a JSON object", "application/json", '{"a":1}'],
      ["protocol bytes", "application/octet-stream", "\u0001\u0002"],
      ["text", "text/plain", "hello"],
    ])("POST /v1/join/challenge refuses %s with E_VALIDATION", async (_what, contentType, body) => {
      const response = await fetch(`${limited.url}/v1/join/challenge`, {
        method: "POST",
        headers: { "content-type": contentType },
        body,
      });
      expect(response.status).toBe(400);
      expect(await errorCode(response)).toBe("E_VALIDATION");
    });

    it("POST /v1/join/challenge without a body answers an 18-byte JoinChallenge", async () => {
      const response = await limited.post("/v1/join/challenge");
      expect(response.status).toBe(200);
      expect((await response.arrayBuffer()).byteLength).toBe(MessageSize.JOIN_CHALLENGE);
    });

    it("refuses an operator JSON body past --max-json-body with E_PAYLOAD_TOO_LARGE, counted in /metrics", async () => {
      const before = await limitRefusals(limited, "body");
      const response = await limited.operator("POST", "/v1/devices", { pad: "x".repeat(3000) });
      expect(response.status).toBe(413);
      expect(await errorCode(response)).toBe("E_PAYLOAD_TOO_LARGE");
      expect(await limitRefusals(limited, "body")).toBe(before + 1);
    });

    it("refuses an operator body without a valid token before reading it", async () => {
      const response = await fetch(`${limited.url}/v1/devices`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: "Bearer wrong" },
        body: JSON.stringify({ pad: "x".repeat(3000) }),
      });
      expect(response.status).toBe(401);
    });
  });
});

describe("abuse limits with no exemption", () => {
  let chain: TestChain;
  let head: TestHead;

  beforeAll(async () => {
    chain = await startTestChain();
    head = await startTestHead(chain, { rateLimitExempt: "none", joinBurst: "2", joinRate: "0.1" });
  }, 60_000);
  afterAll(async () => {
    await head?.destroy();
    await chain?.stop();
  });

  it("limits the head's own loopback address too", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await head.post("/v1/join/challenge")).status);
    expect(statuses).toEqual([200, 200, 429]);
  });
});
