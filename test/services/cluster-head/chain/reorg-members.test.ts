/**
 * A reorganisation of indexed blocks (zero confirmations) against a real head: memberships and
 * sessions follow what the chain says after the rewind and replay, and /health and /metrics show it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestChain, type TestChain } from "../../../../testkit/chain";
import { startTestHead, type TestHead } from "../../../../testkit/head";
import { waitUntil } from "../../../../testkit/wait";
import { enrolled, errorCode, join, joined, requestSession } from "../../../helpers/member-client";

describe("a head across a reorganisation of indexed blocks", () => {
  let chain: TestChain;
  let head: TestHead;

  beforeAll(async () => {
    chain = await startTestChain();
    head = await startTestHead(chain, { confirmations: "0" });
  }, 60_000);
  afterAll(async () => {
    await head?.destroy();
    await chain?.stop();
  });

  it("ends what the dropped branch allowed, keeps the rest, and restores only what the chain says", async () => {
    const [a, b, d] = [await enrolled(head), await enrolled(head), await enrolled(head)];
    const [ma, mb] = [await joined(head, a), await joined(head, b)];
    await joined(head, d);
    expect((await requestSession(head, ma, mb)).response.status).toBe(200);
    const snapshot = await chain.snapshot();

    // On the branch that will be dropped (two blocks): C enrolled, joined and in a session with B; D revoked.
    const c = await enrolled(head);
    const mc = await joined(head, c);
    expect((await requestSession(head, mc, mb)).response.status).toBe(200);
    expect((await head.operator("POST", `/v1/devices/${d.deviceIdHex}/revoke`)).status).toBe(200);
    expect(head.context.members.getByDevice(d.deviceIdHex)).toBeUndefined();

    await chain.revert(snapshot);
    await chain.mine(3);
    await waitUntil(() => head.context.follower.status().reorgs.count === 1, "the rewind");
    await waitUntil(
      async () => (await head.context.index.getDevice(c.deviceIdHex)) === undefined,
      "the dropped enrollment to leave the index",
    );

    // C's enrollment is gone: its membership and its session with B ended, its join refused.
    expect(head.context.members.getByDevice(c.deviceIdHex)).toBeUndefined();
    const live = head.context.sessions.live(Date.now());
    expect(live.some((s) => s.initiator === c.deviceIdHex || s.responder === c.deviceIdHex)).toBe(false);
    const cJoin = await join(head, c);
    expect([cJoin.response.status, await errorCode(cJoin.response)]).toEqual([403, "E_NOT_MEMBER"]);
    expect((await head.operator("GET", `/v1/devices/${c.deviceIdHex}`)).status).toBe(404);
    // A and B never left: their membership and session stand.
    expect(head.context.members.getByDevice(a.deviceIdHex)).toBeDefined();
    expect(live.some((s) => s.initiator === a.deviceIdHex && s.responder === b.deviceIdHex)).toBe(true);
    // D's revocation is gone: the index says active again, but its ended membership is not revived.
    expect(await head.context.index.getDevice(d.deviceIdHex)).toMatchObject({ status: "active" });
    expect(head.context.members.getByDevice(d.deviceIdHex)).toBeUndefined();
    await joined(head, d);

    const health = (await (await fetch(`${head.url}/health`)).json()) as {
      status: string;
      chain: { reorgs: { count: number; last: { depth: number; fromBlock: number; ancestorBlock: number } } };
    };
    expect(health.status).toBe("ok");
    expect(health.chain.reorgs).toMatchObject({ count: 1, last: { depth: 2 } });
    const metrics = await (await fetch(`${head.url}/metrics`)).text();
    expect(metrics).toMatch(/^iotguard_chain_reorgs_total 1$/m);
    expect(metrics).toMatch(/^iotguard_chain_reorg_depth_blocks_sum 2$/m);

    // The head's nonce follows the new branch: it can send transactions again.
    await enrolled(head);
  }, 60_000);
});
