/**
 * The hybrid join (ML-KEM-768 + ECDH) end to end through real cluster heads on a real hardhat
 * chain over real HTTP: a default head (hybrid preferred, classic allowed) and a hybrid-only head
 * (`--join-suites hybrid`), mixed fleets, and a downgrade attempt on the wire.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromHex, toHex } from "../../../protocol/bytes";
import { JoinSuite, MessageSize } from "../../../protocol/constants";
import { acceptGrant } from "../../../protocol/grant/member";
import { decodeJoinRequest, decodeJoinResponse, encodeJoinRequest } from "../../../protocol/join/codec";
import { finishJoin, startJoin } from "../../../protocol/join/device";
import { startTestChain, type TestChain } from "../../../testkit/chain";
import { makeTestDevice, startTestHead, type TestDevice, type TestHead } from "../../../testkit/head";
import { errorCode, INSIDE, requestSession } from "../../helpers/member-client";

const CLASSIC = JoinSuite.SECP256K1_ECDH_HKDF_SHA256;
const HYBRID = JoinSuite.MLKEM768_SECP256K1_HKDF_SHA256;

/** A device's signed JoinRequest for a fresh challenge from `head`, offering `suites`. */
async function request(head: TestHead, device: TestDevice, suites: JoinSuite[]) {
  const challenge = new Uint8Array(await (await head.post("/v1/join/challenge")).arrayBuffer());
  return startJoin({
    challengeMessage: challenge,
    clusterId: head.clusterId,
    headAddress: fromHex(head.headAddress.slice(2)),
    deviceId: device.deviceId,
    deviceSecretKey: device.identity.secretKey,
    position: INSIDE,
    suites,
  });
}

describe("hybrid join through real cluster heads", () => {
  let chain: TestChain;
  let head: TestHead; // default policy: hybrid, classic
  let strict: TestHead; // --join-suites hybrid
  const logLines: string[] = [];
  const [a, b, classicOnly, victim] = [
    makeTestDevice(),
    makeTestDevice(),
    makeTestDevice(),
    makeTestDevice(),
  ];
  const [c, d] = [makeTestDevice(), makeTestDevice()];

  beforeAll(async () => {
    chain = await startTestChain();
    head = await startTestHead(chain, { clusterId: "1" }, logLines);
    strict = await startTestHead(chain, { clusterId: "2", joinSuites: "hybrid" });
    const one = await head.operator("POST", "/v1/devices/batch", {
      devices: [a, b, classicOnly, victim].map((x) => x.enrollBody(1)),
    });
    expect(one.status).toBe(201);
    const two = await strict.operator("POST", "/v1/devices/batch", {
      devices: [c, d].map((x) => x.enrollBody(2)),
    });
    expect(two.status).toBe(201);
  }, 90_000);
  afterAll(async () => {
    await strict?.destroy();
    await head?.destroy();
    await chain?.stop();
  });

  it("joins hybrid devices with the documented sizes, and the head holds the same K_m (a session grant verifies)", async () => {
    const memberships = [];
    for (const device of [a, b]) {
      const { request: bytes, state } = await request(head, device, [HYBRID, CLASSIC]);
      expect(bytes).toHaveLength(MessageSize.JOIN_REQUEST_HYBRID);
      const response = await head.post("/v1/join", bytes);
      expect(response.status, await response.clone().text()).toBe(200);
      const answer = new Uint8Array(await response.arrayBuffer());
      expect(answer).toHaveLength(MessageSize.JOIN_RESPONSE_HYBRID);
      expect(decodeJoinResponse(answer).suite).toBe(HYBRID);
      memberships.push(finishJoin(answer, state, Date.now()));
      expect(state.suite).toBe(HYBRID);
    }
    const [ma, mb] = memberships as [(typeof memberships)[0], (typeof memberships)[0]];
    // MAC1 and MAC2 verify and both Grants open only if the head derived the same hybrid K_m.
    const { response, pending1, pending2 } = await requestSession(head, ma, mb);
    expect(response.headers.get("x-iotguard-outcome")).toBe("grant");
    const body = new Uint8Array(await response.arrayBuffer());
    const grants = body.subarray(body.length - 2 * MessageSize.GRANT);
    const forB = acceptGrant(grants.subarray(0, MessageSize.GRANT), mb, pending2, Date.now());
    const forA = acceptGrant(grants.subarray(MessageSize.GRANT), ma, pending1, Date.now());
    expect(toHex(forA.sessionKey)).toBe(toHex(forB.sessionKey));
    const joinedLines = logLines.filter((l) => l.includes('"device joined"'));
    expect(
      joinedLines.some((l) => l.includes(`"deviceId":"${a.deviceIdHex}"`) && l.includes('"suite":"hybrid"')),
    ).toBe(true);
  });

  it("mixed fleet: a classic-only device joins a default head with the classic messages", async () => {
    const { request: bytes, state } = await request(head, classicOnly, [CLASSIC]);
    expect(bytes).toHaveLength(MessageSize.JOIN_REQUEST);
    const response = await head.post("/v1/join", bytes);
    expect(response.status, await response.clone().text()).toBe(200);
    const answer = new Uint8Array(await response.arrayBuffer());
    expect(answer).toHaveLength(MessageSize.JOIN_RESPONSE);
    expect(finishJoin(answer, state, Date.now()).memberKey).toHaveLength(32);
    expect(state.suite).toBe(CLASSIC);
  });

  it("mixed fleet: a hybrid-only head refuses a classic-only device with E_SUITE_REFUSED and admits a hybrid one", async () => {
    const refused = await strict.post("/v1/join", (await request(strict, c, [CLASSIC])).request);
    expect([refused.status, await errorCode(refused)]).toEqual([403, "E_SUITE_REFUSED"]);
    const hybrid = await request(strict, d, [HYBRID, CLASSIC]);
    const admitted = await strict.post("/v1/join", hybrid.request);
    expect(admitted.status, await admitted.clone().text()).toBe(200);
    finishJoin(new Uint8Array(await admitted.arrayBuffer()), hybrid.state, Date.now());
    expect(hybrid.state.suite).toBe(HYBRID);
  });

  it("a downgrade on the wire (the hybrid suite stripped from the offer) is refused by both heads", async () => {
    for (const [target, device] of [
      [head, victim],
      [strict, c],
    ] as const) {
      const genuine = decodeJoinRequest((await request(target, device, [HYBRID, CLASSIC])).request);
      if (genuine.suite !== HYBRID) throw new Error("expected a hybrid request");
      // The attacker keeps the device's fields and signature and sends a classic-only request.
      const stripped = encodeJoinRequest({
        suite: CLASSIC,
        deviceTag: genuine.deviceTag,
        challenge: genuine.challenge,
        position: genuine.position,
        ephemeralPublicKey: genuine.ephemeralPublicKey,
        signature: genuine.signature,
      });
      const response = await target.post("/v1/join", stripped);
      expect([response.status, await errorCode(response)]).toEqual([401, "E_BAD_SIGNATURE"]);
    }
  });

  it("takes a join body up to the hybrid request's size and no more", async () => {
    const { request: bytes } = await request(head, victim, [HYBRID]);
    const oversized = await head.post("/v1/join", Uint8Array.from([...bytes, 0]));
    expect([oversized.status, await errorCode(oversized)]).toEqual([413, "E_PAYLOAD_TOO_LARGE"]);
  });
});
