/**
 * Exactly-once grants and answers that are never older than their transaction, over real HTTP
 * against a real head and chain.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGrantRequest, createSessionRequest } from "../../../protocol/grant/member";
import { startTestChain, type TestChain } from "../../../testkit/chain";
import { makeTestDevice, startTestHead, type TestHead } from "../../../testkit/head";
import { enrolled, errorCode, joined, requestSession } from "../../helpers/member-client";

const CLUSTER = 1;

describe("grant replay and index freshness", () => {
  let chain: TestChain;
  let head: TestHead;

  beforeAll(async () => {
    chain = await startTestChain();
    head = await startTestHead(chain, { clusterId: String(CLUSTER) });
  }, 60_000);
  afterAll(async () => {
    await head?.destroy();
    await chain?.stop();
  });

  it("refuses every later copy of a granted request with E_REPLAY, 8 at once", async () => {
    const [a, b] = [await enrolled(head), await enrolled(head)];
    const [ma, mb] = [await joined(head, a), await joined(head, b)];
    const { response, forward } = await requestSession(head, ma, mb);
    expect(response.status).toBe(200);
    const again = await Promise.all(
      Array.from({ length: 8 }, () => head.post("/v1/sessions", forward.message)),
    );
    expect(await Promise.all(again.map(errorCode))).toEqual(Array(8).fill("E_REPLAY"));
  });

  it("grants exactly one of 8 copies that all arrive before any is decided (20 requests)", async () => {
    const [a, b] = [await enrolled(head), await enrolled(head)];
    const [ma, mb] = [await joined(head, a), await joined(head, b)];
    const grantedPerRequest: number[] = [];
    const sessionsBefore = head.context.sessions.list().length;
    for (let request = 0; request < 20; request++) {
      const sessionRequest = createSessionRequest({
        membership: ma,
        clusterId: CLUSTER,
        peerId: mb.deviceId,
        now: Date.now(),
      });
      const forward = createGrantRequest({
        membership: mb,
        clusterId: CLUSTER,
        peerId: ma.deviceId,
        sessionRequest: sessionRequest.message,
        now: Date.now(),
      });
      const answers = await Promise.all(
        Array.from({ length: 8 }, () => head.post("/v1/sessions", forward.message)),
      );
      grantedPerRequest.push(answers.filter((r) => r.status === 200).length);
      const refused = answers.filter((r) => r.status !== 200);
      expect(await Promise.all(refused.map(errorCode))).toEqual(Array(7).fill("E_REPLAY"));
    }
    expect(grantedPerRequest).toEqual(Array(20).fill(1));
    expect(head.context.sessions.list().length - sessionsBefore).toBe(20);
  });

  it("answers 10 concurrent enrollments, each only once the index holds it", async () => {
    const devices = Array.from({ length: 10 }, () => makeTestDevice());
    const answers = await Promise.all(
      devices.map(async (device) => {
        const response = await head.operator("POST", "/v1/devices", device.enrollBody(CLUSTER));
        // Read the index the moment the answer arrives, before anything else can run.
        return { status: response.status, indexed: await head.context.index.getDevice(device.deviceIdHex) };
      }),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(201));
    expect(answers.filter((a) => a.indexed === undefined)).toEqual([]);
  });
});
