/**
 * Stateless join challenges (stores/challenge-store.ts, docs/protocol.md § JoinChallenge): the
 * head stores nothing for a challenge that is never used; a challenge replayed, expired, forged or
 * issued by another head is refused; a used one is remembered only until it expires. Real heads
 * on a real chain, a controllable head clock.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromHex } from "../../../protocol/bytes";
import { MessageSize } from "../../../protocol/constants";
import { startJoin } from "../../../protocol/join/device";
import { runHousekeeping } from "../../../services/cluster-head/use-cases/housekeeping";
import { startTestChain, type TestChain } from "../../../testkit/chain";
import { makeTestDevice, startTestHead, type TestDevice, type TestHead } from "../../../testkit/head";
import { errorCode, INSIDE } from "../../helpers/member-client";

const TTL_S = 30;

async function challengeFrom(head: TestHead): Promise<Uint8Array> {
  const response = await head.post("/v1/join/challenge");
  expect(response.status).toBe(200);
  return new Uint8Array(await response.arrayBuffer());
}

function joinRequest(
  head: TestHead,
  device: TestDevice,
  challengeMessage: Uint8Array,
  clusterId = head.clusterId,
) {
  return startJoin({
    challengeMessage,
    clusterId,
    headAddress: fromHex(head.headAddress.slice(2)),
    deviceId: device.deviceId,
    deviceSecretKey: device.identity.secretKey,
    position: INSIDE,
  }).request;
}

/** Entries in the head's `challenges` sublevel. */
async function storedChallenges(head: TestHead): Promise<number> {
  return (await head.context.database.values("challenges", 1_000_000)).length;
}

describe("stateless join challenges", () => {
  let chain: TestChain;
  let head: TestHead;
  let other: TestHead;
  let clock = Date.now();
  const stopped: TestHead[] = [];
  const devices = Array.from({ length: 6 }, () => makeTestDevice());

  beforeAll(async () => {
    chain = await startTestChain();
    head = await startTestHead(chain, { challengeTtlS: String(TTL_S) }, undefined, () => clock);
    other = await startTestHead(chain, { clusterId: "2" });
    const enrolled = await head.operator("POST", "/v1/devices/batch", {
      devices: devices.map((d) => d.enrollBody(1)),
    });
    expect(enrolled.status).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await head?.destroy();
    await other?.destroy();
    for (const old of stopped) await old.destroy();
    await chain?.stop();
  });

  it("stores nothing for challenges that are never used, however many are handed out", async () => {
    const before = await storedChallenges(head);
    const challenges = await Promise.all(Array.from({ length: 500 }, () => challengeFrom(head)));
    expect(new Set(challenges.map((c) => Buffer.from(c).toString("hex"))).size).toBe(500);
    expect(challenges.every((c) => c.length === MessageSize.JOIN_CHALLENGE)).toBe(true);
    expect(await storedChallenges(head)).toBe(before);
  });

  it("admits a join on a fresh challenge and refuses the same challenge again with E_REPLAY", async () => {
    const challenge = await challengeFrom(head);
    const first = await head.post("/v1/join", joinRequest(head, devices[0]!, challenge));
    expect(first.status, await first.clone().text()).toBe(200);
    const again = await head.post("/v1/join", joinRequest(head, devices[1]!, challenge));
    expect([again.status, await errorCode(again)]).toEqual([409, "E_REPLAY"]);
  });

  it("uses a challenge up even when its join fails", async () => {
    const challenge = await challengeFrom(head);
    const stranger = makeTestDevice(); // not enrolled
    const refused = await head.post("/v1/join", joinRequest(head, stranger, challenge));
    expect(await errorCode(refused)).toBe("E_NOT_MEMBER");
    const retry = await head.post("/v1/join", joinRequest(head, devices[2]!, challenge));
    expect(await errorCode(retry)).toBe("E_REPLAY");
  });

  it("records a join's challenge in the membership's fsynced batch, and a refused join's before the refusal", async () => {
    const writes: { operations: number; durable: boolean }[] = [];
    const unobserve = head.context.database.observeWrites((write) => writes.push(write));
    try {
      const before = await storedChallenges(head);
      const admitted = await head.post("/v1/join", joinRequest(head, devices[2]!, await challengeFrom(head)));
      expect(admitted.status, await admitted.clone().text()).toBe(200);
      // One level write for the join: the membership and the challenge's use together, fsynced.
      expect(writes).toEqual([{ operations: 2, durable: true }]);
      expect(await storedChallenges(head)).toBe(before + 1);

      writes.length = 0;
      const refused = await head.post(
        "/v1/join",
        joinRequest(head, makeTestDevice(), await challengeFrom(head)),
      );
      expect(await errorCode(refused)).toBe("E_NOT_MEMBER");
      expect(writes).toEqual([{ operations: 1, durable: true }]);
      expect(await storedChallenges(head)).toBe(before + 2);
    } finally {
      unobserve();
    }
  });

  it("refuses a challenge past its TTL with E_EXPIRED, and stores nothing for it", async () => {
    const challenge = await challengeFrom(head);
    const before = await storedChallenges(head);
    clock += (TTL_S + 1) * 1000;
    const late = await head.post("/v1/join", joinRequest(head, devices[3]!, challenge));
    expect([late.status, await errorCode(late)]).toEqual([401, "E_EXPIRED"]);
    expect(await storedChallenges(head)).toBe(before);
  });

  it("refuses a challenge with any one bit flipped as unknown (E_UNKNOWN_CHALLENGE)", async () => {
    const challenge = await challengeFrom(head);
    // Bytes 6..21 are the 16-byte challenge: flip one bit in each of them.
    for (let byte = 6; byte < MessageSize.JOIN_CHALLENGE; byte++) {
      const forged = Uint8Array.from(challenge);
      forged[byte]! ^= 1 << (byte % 8);
      const response = await head.post("/v1/join", joinRequest(head, devices[3]!, forged));
      expect(await errorCode(response), `byte ${byte}`).toBe("E_UNKNOWN_CHALLENGE");
    }
    // The genuine one still works: the forgeries consumed nothing.
    const genuine = await head.post("/v1/join", joinRequest(head, devices[3]!, challenge));
    expect(genuine.status).toBe(200);
  });

  it("refuses a challenge issued by another head (another key and cluster) as unknown", async () => {
    const foreign = await challengeFrom(other);
    // The device signs for cluster 1, the head it asks; only the 16 challenge bytes come from the other head.
    const ours = Uint8Array.from(await challengeFrom(head));
    ours.set(foreign.subarray(6), 6);
    const response = await head.post("/v1/join", joinRequest(head, devices[4]!, ours));
    expect(await errorCode(response)).toBe("E_UNKNOWN_CHALLENGE");
  });

  it("keeps a used challenge only until it expires: housekeeping then forgets it", async () => {
    const challenge = await challengeFrom(head);
    const before = await storedChallenges(head);
    expect((await head.post("/v1/join", joinRequest(head, devices[5]!, challenge))).status).toBe(200);
    expect(await storedChallenges(head)).toBe(before + 1);
    clock += (TTL_S + 1) * 1000;
    await runHousekeeping(head.context);
    expect(await storedChallenges(head)).toBe(0);
  });

  it("honours challenges across a restart of the same head, and still refuses their replays", async () => {
    const used = await challengeFrom(head);
    const unused = await challengeFrom(head);
    const device = makeTestDevice();
    const spare = makeTestDevice();
    expect(
      (
        await head.operator("POST", "/v1/devices/batch", {
          devices: [device.enrollBody(1), spare.enrollBody(1)],
        })
      ).status,
    ).toBe(201);
    expect((await head.post("/v1/join", joinRequest(head, device, used))).status).toBe(200);
    await head.stop();
    stopped.push(head);
    head = await startTestHead(
      chain,
      { dataDir: head.dataDir, adminToken: head.adminToken, challengeTtlS: String(TTL_S) },
      undefined,
      () => clock,
    );
    const replay = await head.post("/v1/join", joinRequest(head, spare, used));
    expect(await errorCode(replay)).toBe("E_REPLAY");
    const fresh = await head.post("/v1/join", joinRequest(head, spare, unused));
    expect(fresh.status, await fresh.clone().text()).toBe(200);
  });
});
