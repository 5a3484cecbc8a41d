/**
 * The head's per-membership MAC keys in a running head: grants derive each member's keys once and
 * reuse them, and a revocation wipes the revoked member's keys as its membership ends.
 * Real head, chain and level.
 */
import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestChain, type TestChain } from "../../../testkit/chain";
import { startTestHead, type TestHead } from "../../../testkit/head";
import { enrolled, joined, requestSession } from "../../helpers/member-client";

describe("per-membership MAC keys in the head", () => {
  let chain: TestChain;
  let head: TestHead;

  beforeAll(async () => {
    chain = await startTestChain();
    head = await startTestHead(chain, { clusterId: "4" });
  }, 60_000);
  afterAll(async () => {
    await head?.destroy();
    await chain?.stop();
  });

  it("derives them at a member's first grant, reuses them, and wipes them when it is revoked", async () => {
    const cache = head.context.macKeys;
    const [a, b] = [await enrolled(head), await enrolled(head)];
    const [ma, mb] = [await joined(head, a), await joined(head, b)];
    expect((await requestSession(head, ma, mb)).response.status).toBe(200);
    const memberB = head.context.members.getByDevice(b.deviceIdHex)!;
    const keysB = cache.keysOf(memberB)!;
    expect(cache.size).toBe(2);
    expect((await requestSession(head, mb, ma)).response.status).toBe(200);
    expect(cache.keysOf(memberB)).toBe(keysB);
    expect(cache.size).toBe(2);

    const ended = once(head.context.events, "revoked");
    expect((await head.operator("POST", `/v1/devices/${b.deviceIdHex}/revoke`)).status).toBe(200);
    await ended;
    expect(keysB.grantRequest.every((x) => x === 0)).toBe(true);
    expect(keysB.sessionRequest.every((x) => x === 0)).toBe(true);
    expect(cache.size).toBe(1);
    expect(cache.keysOf(memberB)).toBeUndefined();
  });
});
