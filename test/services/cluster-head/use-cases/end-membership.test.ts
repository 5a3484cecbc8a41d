/**
 * Ending a membership while a grant for that device is being recorded: whichever write lands
 * first, no live session of the device survives (real head, chain, journal and level, in process).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toHex } from "../../../../protocol/bytes";
import { endMembership } from "../../../../services/cluster-head/use-cases/end-membership";
import { grantSession } from "../../../../services/cluster-head/use-cases/grant-session";
import { startTestChain, type TestChain } from "../../../../testkit/chain";
import { startTestHead, type TestHead } from "../../../../testkit/head";
import { buildSessionRequest, enrolled, joined } from "../../../helpers/member-client";

describe("endMembership against a grant in flight", () => {
  let chain: TestChain;
  let head: TestHead;
  beforeAll(async () => {
    chain = await startTestChain();
    head = await startTestHead(chain);
  }, 60_000);
  afterAll(async () => {
    await head?.destroy();
    await chain?.stop();
  });

  it("leaves no live session of the device, whether the grant's record or the end is written first", async () => {
    const outcomes: string[] = [];
    for (let round = 0; round < 6; round++) {
      const [a, b] = [await enrolled(head), await enrolled(head)];
      const ma = await joined(head, a);
      const mb = await joined(head, b);
      const [deviceA, deviceB] = [toHex(ma.deviceId), toHex(mb.deviceId)];
      const { forward } = buildSessionRequest(head, ma, mb);
      // Both start in one turn: the end reads the device's sessions before the grant is in memory.
      const [granted, ended] = await Promise.allSettled([
        grantSession(head.context, forward.message),
        endMembership(head.context, deviceB, "revoked"),
      ]);
      expect(ended.status).toBe("fulfilled");
      if (granted.status === "rejected") expect(granted.reason).toMatchObject({ code: "E_REVOKED" });
      outcomes.push(granted.status);
      const now = head.context.now();
      expect(head.context.members.getByDevice(deviceB)).toBeUndefined();
      expect(head.context.sessions.liveSessionsOf(deviceB, now)).toEqual([]);
      expect(head.context.sessions.haveSession(deviceA, deviceB, now)).toBe(false);
      // The grant was recorded (its session is listed, ended) or refused before it was.
      const listed = head.context.sessions.list().filter((s) => s.responder === deviceB);
      expect(listed.every((s) => s.endedAt !== undefined)).toBe(true);
      if (granted.status === "fulfilled") expect(listed).toHaveLength(1);
    }
    expect(outcomes).toHaveLength(6);
  }, 60_000);

  it("refuses a grant recorded after its member's end and a new join (E_REVOKED), and leaves it no live session", async () => {
    const [a, b] = [await enrolled(head), await enrolled(head)];
    const ma = await joined(head, a);
    const mb = await joined(head, b);
    const deviceB = toHex(mb.deviceId);
    const { forward } = buildSessionRequest(head, ma, mb);
    // The grant's record waits (a slow disk, say) until the end and the new join are done.
    const store = head.context.sessions;
    const recordGrant = store.recordGrant.bind(store);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    store.recordGrant = async (...args) => {
      await gate;
      return recordGrant(...args);
    };
    try {
      const granted = grantSession(head.context, forward.message).then(
        (o) => o.kind,
        (e: { code?: string }) => `refused ${e.code}`,
      );
      await endMembership(head.context, deviceB, "key-rotated");
      await joined(head, b); // a new membership, a new member key
      release();
      expect(await granted).toBe("refused E_REVOKED");
    } finally {
      store.recordGrant = recordGrant;
    }
    expect(head.context.sessions.liveSessionsOf(deviceB, head.context.now())).toEqual([]);
    expect(head.context.members.getByDevice(deviceB)).toBeDefined();
  }, 60_000);
});
