/**
 * A chain that mines on its own (a block every second, as a network does, not one per transaction)
 * and a head that waits for 2 confirmations: what the head says while an enrollment or revocation
 * is pending, the join refusal that names it, and when each takes effect (in blocks).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestChain, type TestChain } from "../../../../testkit/chain";
import { makeTestDevice, startTestHead, type TestHead } from "../../../../testkit/head";
import { waitUntil } from "../../../../testkit/wait";
import { errorCode, join, joined } from "../../../helpers/member-client";

const CONFIRMATIONS = 2;

interface Pending {
  action: string;
  txHash: string;
  block: number | null;
  confirmationsLeft: number;
}

describe("pending transactions on an interval-mined chain with 2 confirmations", () => {
  let chain: TestChain;
  let head: TestHead;

  beforeAll(async () => {
    chain = await startTestChain({ blockIntervalMs: 1000 });
    head = await startTestHead(chain, { confirmations: String(CONFIRMATIONS), pollIntervalMs: "100" });
  }, 60_000);
  afterAll(async () => {
    await head?.destroy();
    await chain?.stop();
  });

  it("shows an enrollment as pending, refuses its join with E_ENROLLMENT_PENDING, then admits it", async () => {
    const device = makeTestDevice();
    const sent = await head.operator("POST", "/v1/devices?wait=false", device.enrollBody(head.clusterId));
    expect(sent.status, await sent.clone().text()).toBe(202);
    const body = (await sent.json()) as { blockNumber: number; pending: Pending };
    expect(body.pending).toMatchObject({ action: "enroll", block: body.blockNumber });
    expect(body.pending.confirmationsLeft).toBeGreaterThan(0);
    expect(body.pending.confirmationsLeft).toBeLessThanOrEqual(CONFIRMATIONS);

    const read = await (await fetch(`${head.url}/v1/devices/${device.deviceIdHex}`)).json();
    expect(read).toMatchObject({
      deviceId: device.deviceIdHex,
      status: "pending",
      pending: { action: "enroll" },
    });
    const metrics = await (await fetch(`${head.url}/metrics`)).text();
    expect(metrics).toMatch(/^iotguard_pending_transactions\{action="enroll"\} 1$/m);

    const early = await join(head, device);
    expect(early.response.status).toBe(409);
    const refusal = (await early.response.json()) as { error: { code: string; message: string } };
    expect(refusal.error.code).toBe("E_ENROLLMENT_PENDING");
    expect(refusal.error.message).toMatch(
      new RegExp(`block ${body.blockNumber} and needs [12] more confirmation`),
    );

    await waitUntil(
      async () => (await head.context.index.getDevice(device.deviceIdHex)) !== undefined,
      "the enrollment to be indexed",
    );
    // Indexed only once the chain was CONFIRMATIONS blocks past the enrollment's block.
    expect(head.context.follower.status().chainHead! - body.blockNumber).toBeGreaterThanOrEqual(
      CONFIRMATIONS,
    );
    await waitUntil(() => head.context.pending.list().length === 0, "the pending record to be settled");
    const after = await (await fetch(`${head.url}/v1/devices/${device.deviceIdHex}`)).json();
    expect(after).toMatchObject({ status: "active" });
    expect(after).not.toHaveProperty("pending");
    await joined(head, device);
  }, 60_000);

  it("keeps a device a member until its revocation has the confirmations, then ends it", async () => {
    const device = makeTestDevice();
    const enrolled = await head.operator("POST", "/v1/devices", device.enrollBody(head.clusterId));
    // Without ?wait=false the answer comes once the index holds it: the device joins at once.
    expect(enrolled.status).toBe(201);
    await joined(head, device);

    const sent = await head.operator("POST", `/v1/devices/${device.deviceIdHex}/revoke?wait=false`);
    expect(sent.status).toBe(202);
    const { blockNumber, pending } = (await sent.json()) as { blockNumber: number; pending: Pending };
    expect(pending).toMatchObject({ action: "revoke", block: blockNumber });
    const read = await (await fetch(`${head.url}/v1/devices/${device.deviceIdHex}`)).json();
    expect(read).toMatchObject({ status: "active", pending: { action: "revoke" } });
    // The chain says revoked, the index (and so the head) not yet: still a member.
    expect(head.context.members.getByDevice(device.deviceIdHex)).toBeDefined();

    await waitUntil(
      () => head.context.members.getByDevice(device.deviceIdHex) === undefined,
      "the revocation to end the membership",
    );
    const blocksToEffect = (await chain.height()) - blockNumber;
    expect(blocksToEffect).toBeGreaterThanOrEqual(CONFIRMATIONS);
    expect(blocksToEffect).toBeLessThanOrEqual(CONFIRMATIONS + 1);
    const rejoin = await join(head, device);
    expect([rejoin.response.status, await errorCode(rejoin.response)]).toEqual([403, "E_REVOKED"]);
  }, 60_000);
});
