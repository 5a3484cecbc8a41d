/**
 * Two named operators enrolling at the same time against one real head on a chain that mines
 * every 500 ms: each enrollment lands on chain exactly once, none fails on a nonce, and two
 * operators racing for the same device IDs get one enrollment each and a typed refusal, after
 * which the head's next transaction still goes through (no nonce left behind).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestChain, type TestChain } from "../../../../testkit/chain";
import { makeTestDevice, startTestHead, type TestDevice, type TestHead } from "../../../../testkit/head";

const PER_OPERATOR = 20;

describe("concurrent enrollments from two operators", () => {
  let chain: TestChain;
  let head: TestHead;
  const tokens: string[] = [];

  beforeAll(async () => {
    chain = await startTestChain({ blockIntervalMs: 500 });
    head = await startTestHead(chain, { pollIntervalMs: "100", logLevel: "warn" });
    for (const name of ["alice", "bob"]) {
      const added = await head.operator("POST", "/v1/operators", {
        name,
        scopes: ["enroll", "revoke", "read"],
      });
      expect(added.status, await added.clone().text()).toBe(201);
      const { token } = (await added.json()) as { token: string };
      // A token's first use costs a scrypt check, at most 4 at once (use-cases/operators.ts): an
      // operator's client signs in once, then its requests share the verified token.
      const first = await fetch(`${head.url}/v1/members`, { headers: { authorization: `Bearer ${token}` } });
      expect(first.status).toBe(200);
      tokens.push(token);
    }
  }, 60_000);
  afterAll(async () => {
    await head?.destroy();
    await chain?.stop();
  });

  const enroll = (token: string, device: TestDevice) =>
    fetch(`${head.url}/v1/devices`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(device.enrollBody(head.clusterId)),
    });

  /** How many DeviceEnrolled events the chain holds for each device. */
  async function enrolledOnChain(devices: TestDevice[]): Promise<number[]> {
    const registry = head.context.registry;
    const events = await registry.queryFilter(registry.filters.DeviceEnrolled!(), 0);
    return devices.map(
      (d) =>
        events.filter((e) => "args" in e && String(e.args[0]).toLowerCase() === `0x${d.deviceIdHex}`).length,
    );
  }

  it("lands every one of 2×20 interleaved enrollments on chain exactly once", async () => {
    const devices = Array.from({ length: 2 * PER_OPERATOR }, () => makeTestDevice());
    // Interleaved: alice, bob, alice, bob… all in flight together.
    const answers = await Promise.all(devices.map((d, i) => enroll(tokens[i % 2]!, d)));
    const bodies = await Promise.all(answers.map((a) => a.text()));
    expect(
      answers.map((a) => a.status),
      bodies.join("\n"),
    ).toEqual(devices.map(() => 201));
    expect(await enrolledOnChain(devices)).toEqual(devices.map(() => 1));
    for (const d of devices) expect(await head.context.index.getDevice(d.deviceIdHex)).toBeDefined();
    expect(head.context.pending.list()).toEqual([]);
  }, 120_000);

  it("enrolls a device raced for by both operators once, refuses the other, and keeps its nonces", async () => {
    const devices = Array.from({ length: 5 }, () => makeTestDevice());
    const answers = await Promise.all(devices.flatMap((d) => [enroll(tokens[0]!, d), enroll(tokens[1]!, d)]));
    const results = await Promise.all(
      answers.map(async (a) => ({
        status: a.status,
        body: (await a.json()) as { error?: { code: string } },
      })),
    );
    for (let i = 0; i < devices.length; i++) {
      const pair = results.slice(2 * i, 2 * i + 2);
      expect(pair.map((r) => r.status).sort(), JSON.stringify(pair)).toEqual([201, 409]);
      expect(pair.find((r) => r.status === 409)!.body.error?.code).toBe("E_ALREADY_ENROLLED");
    }
    expect(await enrolledOnChain(devices)).toEqual(devices.map(() => 1));

    // A refused transaction must not leave a nonce unused: the next one is mined.
    const next = makeTestDevice();
    const after = await Promise.race([
      enroll(tokens[0]!, next),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error("the next enrollment hangs")), 15_000),
      ),
    ]);
    expect(after.status, await after.clone().text()).toBe(201);
    expect(await enrolledOnChain([next])).toEqual([1]);
  }, 120_000);

  it("keeps its nonces when the chain refuses a transaction at its gas estimate (a revocation raced for)", async () => {
    const device = makeTestDevice();
    expect((await enroll(tokens[0]!, device)).status).toBe(201);
    const revoke = (token: string) =>
      fetch(`${head.url}/v1/devices/${device.deviceIdHex}/revoke`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
      });
    // Both pass the index check; the second is refused by the chain, which already holds the first.
    const answers = await Promise.all([revoke(tokens[0]!), revoke(tokens[1]!)]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);

    const next = makeTestDevice();
    const after = await Promise.race([
      enroll(tokens[1]!, next),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error("the next enrollment hangs")), 15_000),
      ),
    ]);
    expect(after.status, await after.clone().text()).toBe(201);
  }, 60_000);
});
