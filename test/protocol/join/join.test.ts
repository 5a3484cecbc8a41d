import { describe, expect, it } from "vitest";
import {
  acceptJoin,
  ChallengeState,
  type DeviceCandidate,
  decodeJoinRequest,
  decodeJoinResponse,
  deviceTag,
  finishJoin,
  identityFromSecretKey,
  issueChallenge,
  MAX_TAG_CANDIDATES,
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
    const [d] = ctx.candidates as [DeviceCandidate];
    expectCode(() => acceptJoin({ ...ctx, candidates: [] }), "E_NOT_MEMBER");
    expectCode(() => acceptJoin({ ...ctx, candidates: [{ ...d, active: false }] }), "E_REVOKED");
    expectCode(() => acceptJoin({ ...ctx, candidates: [{ ...d, clusterId: 8 }] }), "E_WRONG_CLUSTER");
  });

  it("sends a 16-byte device tag, not the device ID, and signs the full device ID", () => {
    const { d, ctx, start } = setup();
    expect(toHex(ctx.request.deviceTag)).toBe(toHex(deviceTag(d.id)));
    expect(toHex(start.request)).not.toContain(toHex(d.id));
    // Another device ID under the same key and tag (a made-up index entry) fails the signature.
    const [rec] = ctx.candidates as [DeviceCandidate];
    expectCode(() => acceptJoin({ ...ctx, candidates: [{ ...rec, deviceId: id32(9) }] }), "E_BAD_SIGNATURE");
  });

  it("resolves a tag shared by several devices to the one whose signature verifies", () => {
    const { d, ctx } = setup();
    const decoy = device(2).record;
    const genuine = ctx.candidates[0] as DeviceCandidate;
    for (const candidates of [
      [decoy, genuine],
      [genuine, decoy],
      [{ ...decoy, active: false }, decoy, decoy, genuine],
    ]) {
      const res = acceptJoin({ ...ctx, candidates });
      expect(toHex(res.membership.deviceId)).toBe(toHex(d.id));
    }
    // None of them signed: the documented checks run on the first and end at the signature.
    expectCode(() => acceptJoin({ ...ctx, candidates: [decoy, device(3).record] }), "E_BAD_SIGNATURE");
    // The first decides the earlier checks when none signed (here: revoked).
    expectCode(
      () => acceptJoin({ ...ctx, candidates: [{ ...decoy, active: false }, device(3).record] }),
      "E_REVOKED",
    );
  });

  it(`refuses a tag that names more than ${MAX_TAG_CANDIDATES} devices (bounded work per request)`, () => {
    const { ctx } = setup();
    const genuine = ctx.candidates[0] as DeviceCandidate;
    const many = [2, 3, 4, 5].map((n) => device(n).record);
    expect(() => acceptJoin({ ...ctx, candidates: [...many.slice(1), genuine] })).not.toThrow();
    expectCode(() => acceptJoin({ ...ctx, candidates: [...many, genuine] }), "E_NOT_MEMBER");
  });

  it("refuses a position outside the radius", () => {
    const { ctx } = setup();
    expectCode(() => acceptJoin({ ...ctx, cluster: { ...cluster, radius: 100 } }), "E_OUTSIDE_RADIUS");
  });

  it("refuses a signature by another key or for another cluster/head", () => {
    const { ctx } = setup();
    const other = identityFromSecretKey(key("intruder"));
    const [d] = ctx.candidates as [DeviceCandidate];
    expectCode(
      () => acceptJoin({ ...ctx, candidates: [{ ...d, keyAddress: other.address }] }),
      "E_BAD_SIGNATURE",
    );
    const otherHead = identityFromSecretKey(key("other-head"));
    expectCode(
      () => acceptJoin({ ...ctx, cluster: { ...cluster, headAddress: otherHead.address } }),
      "E_BAD_SIGNATURE",
    );
  });

  it("binds the cluster in T_req although the challenge does not name it", () => {
    const d = device(1);
    // A head of cluster 99 (same key, say) hands out a challenge; the device means to join cluster 7.
    const ch = issueChallenge({ clusterId: 99, now: T0, random: seededRandom("x") });
    const start = startJoin({
      challengeMessage: ch.message,
      clusterId: cluster.clusterId,
      headAddress: head.address,
      deviceId: d.id,
      deviceSecretKey: d.identity.secretKey,
      position: d.position,
    });
    expectCode(
      () =>
        acceptJoin({
          request: decodeJoinRequest(start.request),
          challenge: ch.record,
          candidates: [{ ...d.record, clusterId: 99 }],
          cluster: { ...cluster, clusterId: 99 },
          headSecretKey: head.secretKey,
          now: T0,
        }),
      "E_BAD_SIGNATURE",
    );
  });

  it("sends the membership expiry in whole seconds, rounded down", () => {
    const { ctx, start } = setup(1, T0 + 1234);
    const res = acceptJoin({ ...ctx, membershipTtlMs: 60_500 });
    expect(res.membership.expiresAt).toBe(T0 + 61_000);
    expect(finishJoin(res.response, start.state, T0 + 1234).expiresAt).toBe(T0 + 61_000);
  });

  it("signs with 64-byte compact signatures (EIP-2098) on both sides", () => {
    const { ctx } = setup();
    expect(ctx.request.signature.length).toBe(64);
    expect(decodeJoinResponse(acceptJoin(ctx).response).signature.length).toBe(64);
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
    const b1 = joinRequestBody(7, head.address, id32(1), ctx.request);
    const b2 = joinRequestBody(8, head.address, id32(1), ctx.request);
    const b3 = joinRequestBody(7, head.address, id32(2), ctx.request);
    expect(toHex(b1)).not.toBe(toHex(b2));
    expect(toHex(b1)).not.toBe(toHex(b3));
  });
});
