import { describe, expect, it } from "vitest";
import {
  acceptJoin,
  ChallengeState,
  decodeJoinResponse,
  finishJoin,
  identityFromSecretKey,
  issueChallenge,
  MessageSize,
  ProtocolError,
  startJoin,
  toHex,
} from "../../../protocol";
import { encodeJoinResponse } from "../../../protocol/join/codec";
import { joinRequestBody } from "../../../protocol/join/transcript";
import { beginJoin, cluster, device, head, id32, join, key, seededRandom, T0 } from "../helpers";

function expectCode(f: () => unknown, code: string) {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolError);
    expect((e as ProtocolError).code).toBe(code);
    return;
  }
  throw new Error(`expected ${code}, nothing thrown`);
}

function setup(n = 1, now = T0) {
  const d = device(n);
  return { d, ...beginJoin(d, `setup${n}`, now) };
}

describe("join", () => {
  it("derives the same member key on both sides with the documented sizes", () => {
    const j = join(device(1));
    expect(j.challenge.message.length).toBe(MessageSize.JOIN_CHALLENGE);
    expect(j.start.request.length).toBe(MessageSize.JOIN_REQUEST);
    expect(j.res.response.length).toBe(MessageSize.JOIN_RESPONSE);
    expect(toHex(j.deviceMembership.memberKey)).toBe(toHex(j.headMembership.memberKey));
    expect(toHex(j.deviceMembership.kid)).toBe(toHex(j.headMembership.kid));
    expect(j.res.challenge.state).toBe(ChallengeState.CONSUMED);
    // Forward secrecy: the device's ephemeral scalar is gone.
    expect(j.start.state.ephemeralSecretKey.every((b) => b === 0)).toBe(true);
  });

  it("refuses a replayed (consumed) challenge", () => {
    const { ctx } = setup();
    const first = acceptJoin(ctx);
    expectCode(() => acceptJoin({ ...ctx, challenge: first.challenge }), "E_REPLAY");
  });

  it("refuses an unknown challenge and one from another cluster", () => {
    const { ctx } = setup();
    expectCode(() => acceptJoin({ ...ctx, challenge: undefined }), "E_UNKNOWN_CHALLENGE");
    expectCode(
      () => acceptJoin({ ...ctx, challenge: { ...ctx.challenge, challenge: new Uint8Array(16) } }),
      "E_UNKNOWN_CHALLENGE",
    );
    expectCode(
      () => acceptJoin({ ...ctx, challenge: { ...ctx.challenge, clusterId: 8 } }),
      "E_UNKNOWN_CHALLENGE",
    );
  });

  it("refuses an expired challenge (default TTL 30 s)", () => {
    const { ctx } = setup();
    expect(() => acceptJoin({ ...ctx, now: T0 + 29_999 })).not.toThrow();
    expectCode(() => acceptJoin({ ...ctx, now: T0 + 30_000 }), "E_EXPIRED");
  });

  it("refuses an unknown device, a revoked device and one of another cluster", () => {
    const { ctx } = setup();
    expectCode(() => acceptJoin({ ...ctx, device: undefined }), "E_NOT_MEMBER");
    expectCode(() => acceptJoin({ ...ctx, device: { ...ctx.device, active: false } }), "E_REVOKED");
    expectCode(() => acceptJoin({ ...ctx, device: { ...ctx.device, clusterId: 8 } }), "E_WRONG_CLUSTER");
  });

  it("refuses a position outside the radius", () => {
    const { ctx } = setup();
    expectCode(() => acceptJoin({ ...ctx, cluster: { ...cluster, radius: 100 } }), "E_OUTSIDE_RADIUS");
  });

  it("refuses a signature by another key or for another cluster/head", () => {
    const { ctx } = setup();
    const other = identityFromSecretKey(key("intruder"));
    expectCode(
      () => acceptJoin({ ...ctx, device: { ...ctx.device, keyAddress: other.address } }),
      "E_BAD_SIGNATURE",
    );
    const otherHead = identityFromSecretKey(key("other-head"));
    expectCode(
      () => acceptJoin({ ...ctx, cluster: { ...cluster, headAddress: otherHead.address } }),
      "E_BAD_SIGNATURE",
    );
  });

  it("refuses a challenge naming another cluster at the device", () => {
    const d = device(1);
    const ch = issueChallenge({ clusterId: 99, now: T0, random: seededRandom("x") });
    expectCode(
      () =>
        startJoin({
          challengeMessage: ch.message,
          clusterId: cluster.clusterId,
          headAddress: head.address,
          deviceId: d.id,
          deviceSecretKey: d.identity.secretKey,
          position: d.position,
        }),
      "E_WRONG_CLUSTER",
    );
  });

  it("device refuses a join-request signature presented as the head's response", () => {
    const { ctx, start } = setup();
    const res = decodeJoinResponse(acceptJoin(ctx).response);
    // The device's own signature over its request: valid ECDSA, wrong purpose and wrong signer.
    const forged = encodeJoinResponse({ ...res, signature: ctx.request.signature });
    expectCode(() => finishJoin(forged, start.state, T0), "E_BAD_SIGNATURE");
  });

  it("device refuses a response signed by a key other than the pinned head", () => {
    const { ctx, start } = setup();
    const evil = identityFromSecretKey(key("evil-head"));
    const res = acceptJoin({ ...ctx, headSecretKey: evil.secretKey });
    expectCode(() => finishJoin(res.response, start.state, T0), "E_BAD_SIGNATURE");
    // A forged response does not spoil the state: the genuine one still completes.
    const { ctx: ctx2 } = setup();
    const genuine = acceptJoin(ctx2);
    expect(() => finishJoin(genuine.response, start.state, T0)).not.toThrow();
    expectCode(() => finishJoin(genuine.response, start.state, T0), "E_BAD_STATE");
  });

  it("binds the head's signature to the device's request (no mix-and-match)", () => {
    const a = setup(1);
    const b = setup(2);
    const resA = acceptJoin(a.ctx);
    expectCode(() => finishJoin(resA.response, b.start.state, T0), "E_BAD_SIGNATURE");
  });

  it("transcript covers cluster and head identity", () => {
    const { ctx } = setup();
    const b1 = joinRequestBody(7, head.address, ctx.request);
    const b2 = joinRequestBody(8, head.address, ctx.request);
    expect(toHex(b1)).not.toBe(toHex(b2));
    expect(id32(1).length).toBe(32);
  });
});
