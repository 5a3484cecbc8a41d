import { describe, expect, it } from "vitest";
import {
  AeadSuite,
  acceptGrant,
  acceptGrantWarning,
  createGrantRequest,
  createSessionRequest,
  decodeGrant,
  decodeGrantRequest,
  issueGrant,
  MessageSize,
  Role,
  toHex,
} from "../../../protocol";
import { Label } from "../../../protocol/constants";
import { mac } from "../../../protocol/crypto/mac";
import { encodeGrantRequest } from "../../../protocol/grant/codec";
import { grantRequestMacInput, macKey } from "../../../protocol/grant/keys";
import { expectCode } from "../expect-code";
import { fullSession, grantFlow } from "../grant-fixture";
import { cluster, T0 } from "../helpers";

describe("session grant", () => {
  it("gives both members the same session key, with roles, identities and sizes", () => {
    const f = fullSession();
    expect(f.sr.message.length).toBe(MessageSize.SESSION_REQUEST);
    expect(f.gr.message.length).toBe(MessageSize.GRANT_REQUEST);
    expect(f.issued.toInitiator.length).toBe(MessageSize.GRANT);
    expect(f.issued.toResponder.length).toBe(MessageSize.GRANT);
    expect(toHex(f.s1.sessionKey)).toBe(toHex(f.s2.sessionKey));
    expect(toHex(f.s1.sessionId)).toBe(toHex(f.s2.sessionId));
    expect(f.s1.role).toBe(Role.INITIATOR);
    expect(f.s2.role).toBe(Role.RESPONDER);
    expect(toHex(f.s1.peerId)).toBe(toHex(f.d2.id));
    expect(toHex(f.s2.peerId)).toBe(toHex(f.d1.id));
    expect(f.s1.suite).toBe(AeadSuite.AES_256_GCM);
    expect(f.sr.pending.used && f.gr.pending.used).toBe(true);
  });

  it("binds the requested suite (ChaCha20-Poly1305)", () => {
    const f = fullSession({ suite: AeadSuite.CHACHA20_POLY1305 });
    expect(f.s1.suite).toBe(AeadSuite.CHACHA20_POLY1305);
    expect(f.s2.suite).toBe(AeadSuite.CHACHA20_POLY1305);
  });

  it("refuses grant replay: the same grant twice (nonce already used)", () => {
    const f = fullSession();
    expectCode(
      () => acceptGrant(f.issued.toInitiator, f.j1.deviceMembership, [f.sr.pending], f.now),
      "E_REPLAY",
    );
  });

  it("head refuses the same session request twice (replay key seen)", () => {
    const f = grantFlow();
    const first = issueGrant(f.ctx);
    expect(first.kind).toBe("grant");
    expectCode(() => issueGrant({ ...f.ctx, replayed: true }), "E_REPLAY");
    // Re-wrapped by M2 with a new N2, the same M1 request has the same replay key.
    const again = createGrantRequest({
      membership: f.j2.deviceMembership,
      clusterId: cluster.clusterId,
      peerId: f.d1.id,
      sessionRequest: f.sr.message,
      now: f.now,
      random: f.random,
    });
    const second = issueGrant({ ...f.ctx, request: decodeGrantRequest(again.message) });
    if (first.kind !== "grant" || second.kind !== "grant") throw new Error("unreachable");
    expect(second.replayKey).toBe(first.replayKey);
  });

  it("refuses a grant for another member", () => {
    const f = fullSession({ seed: "other" });
    const f2 = grantFlow({ seed: "other" });
    // M3 did not send this nonce.
    const m3Pending = createSessionRequest({
      membership: f.j3.deviceMembership,
      clusterId: cluster.clusterId,
      peerId: f.d2.id,
      now: f.now,
      random: f.random,
    }).pending;
    expectCode(
      () => acceptGrant(f.issued.toInitiator, f.j3.deviceMembership, [m3Pending], f.now),
      "E_UNKNOWN_NONCE",
    );
    // M3 with M1's nonce (stolen pending record) still lacks K_m1.
    expectCode(
      () => acceptGrant(f.issued.toInitiator, f.j3.deviceMembership, [{ ...f2.sr.pending }], f.now),
      "E_BAD_TAG",
    );
    // M2's copy offered to M1 under M1's nonce record: role differs.
    expectCode(
      () =>
        acceptGrant(
          f.issued.toResponder,
          f.j1.deviceMembership,
          [{ ...f2.gr.pending, role: Role.INITIATOR }],
          f.now,
        ),
      "E_UNKNOWN_NONCE",
    );
  });

  it("M2 refuses a grant naming another initiator (Lowe: identities in the AAD)", () => {
    const f = grantFlow({ seed: "lowe" });
    const issued = issueGrant(f.ctx);
    if (issued.kind !== "grant") throw new Error("unreachable");
    expectCode(
      () =>
        acceptGrant(issued.toResponder, f.j2.deviceMembership, [{ ...f.gr.pending, peerId: f.d3.id }], f.now),
      "E_BAD_TAG",
    );
  });

  it("refuses reflection (M1 = M2) everywhere", () => {
    const f = grantFlow();
    expectCode(
      () =>
        createSessionRequest({
          membership: f.j1.deviceMembership,
          clusterId: cluster.clusterId,
          peerId: f.d1.id,
          now: f.now,
        }),
      "E_REFLECTION",
    );
    expectCode(
      () =>
        createGrantRequest({
          membership: f.j1.deviceMembership,
          clusterId: cluster.clusterId,
          peerId: f.d2.id,
          sessionRequest: f.sr.message,
          now: f.now,
        }),
      "E_REFLECTION",
    );
    // M2 asked to wrap a request carrying its own kid.
    const own = createSessionRequest({
      membership: { ...f.j2.deviceMembership, deviceId: f.d3.id },
      clusterId: cluster.clusterId,
      peerId: f.d2.id,
      now: f.now,
    }).message;
    expectCode(
      () =>
        createGrantRequest({
          membership: f.j2.deviceMembership,
          clusterId: cluster.clusterId,
          peerId: f.d1.id,
          sessionRequest: own,
          now: f.now,
        }),
      "E_REFLECTION",
    );
    // Head: a correctly MAC'ed GrantRequest whose inner kid is M2's own.
    const k = macKey(f.j2.deviceMembership.memberKey, Label.MAC_GRANT_REQUEST);
    const nonce = new Uint8Array(16).fill(9);
    const tag = mac(
      k,
      Label.MAC_GRANT_REQUEST,
      grantRequestMacInput(cluster.clusterId, f.d2.id, f.j2.deviceMembership.kid, nonce, own),
    );
    const req = decodeGrantRequest(
      encodeGrantRequest({ kid: f.j2.deviceMembership.kid, nonce, mac: tag, sessionRequestBytes: own }),
    );
    expectCode(() => issueGrant({ ...f.ctx, request: req, initiator: f.responder }), "E_REFLECTION");
  });

  it("head refuses M1 = M2 (same device under two kids)", () => {
    const f = grantFlow({ seed: "refl" });
    const sameDevice = {
      membership: { ...f.initiator.membership, deviceId: f.responder.membership.deviceId },
      active: true,
    };
    expectCode(() => issueGrant({ ...f.ctx, initiator: sameDevice }), "E_REFLECTION");
  });

  it("throws (no warning) when M2 itself fails", () => {
    const f = grantFlow();
    expectCode(() => issueGrant({ ...f.ctx, responder: undefined }), "E_NOT_MEMBER");
    expectCode(() => issueGrant({ ...f.ctx, responder: { ...f.responder, active: false } }), "E_REVOKED");
    expectCode(
      () =>
        issueGrant({
          ...f.ctx,
          responder: { ...f.responder, membership: { ...f.responder.membership, expiresAt: f.now } },
        }),
      "E_EXPIRED",
    );
    expectCode(
      () =>
        issueGrant({
          ...f.ctx,
          responder: {
            ...f.responder,
            membership: { ...f.responder.membership, memberKey: new Uint8Array(32) },
          },
        }),
      "E_BAD_MAC",
    );
  });

  it.each([
    ["E_NOT_MEMBER", (f: ReturnType<typeof grantFlow>) => ({ ...f.ctx, initiator: undefined })],
    [
      "E_REVOKED",
      (f: ReturnType<typeof grantFlow>) => ({ ...f.ctx, initiator: { ...f.initiator, active: false } }),
    ],
    [
      "E_EXPIRED",
      (f: ReturnType<typeof grantFlow>) => ({
        ...f.ctx,
        initiator: { ...f.initiator, membership: { ...f.initiator.membership, expiresAt: f.now } },
      }),
    ],
    [
      "E_BAD_MAC",
      (f: ReturnType<typeof grantFlow>) => ({
        ...f.ctx,
        initiator: {
          ...f.initiator,
          membership: { ...f.initiator.membership, memberKey: new Uint8Array(32) },
        },
      }),
    ],
  ] as const)("warns M2 when M1 fails with %s", (code, mk) => {
    const f = grantFlow({ seed: `warn-${code}` });
    const out = issueGrant(mk(f));
    expect(out.kind).toBe("warning");
    if (out.kind !== "warning") return;
    expect(out.toResponder.length).toBe(MessageSize.GRANT_WARNING);
    expect(acceptGrantWarning(out.toResponder, f.j2.deviceMembership, [f.gr.pending])).toBe(code);
    expectCode(() => acceptGrantWarning(out.toResponder, f.j2.deviceMembership, [f.gr.pending]), "E_REPLAY");
  });

  it("M2 refuses a forged warning", () => {
    const f = grantFlow({ seed: "forged-warning" });
    const out = issueGrant({ ...f.ctx, initiator: undefined });
    if (out.kind !== "warning") throw new Error("unreachable");
    expectCode(() => acceptGrantWarning(out.toResponder, f.j1.deviceMembership, [f.gr.pending]), "E_BAD_MAC");
  });

  it("refuses a stale session request at M2 and at the head", () => {
    const f = grantFlow();
    expectCode(
      () =>
        createGrantRequest({
          membership: f.j2.deviceMembership,
          clusterId: cluster.clusterId,
          peerId: f.d1.id,
          sessionRequest: f.sr.message,
          now: f.now + 30_001,
        }),
      "E_EXPIRED",
    );
    expectCode(() => issueGrant({ ...f.ctx, now: f.now + 30_001 }), "E_EXPIRED");
  });

  it("refuses an expired grant at the member", () => {
    const f = grantFlow({ seed: "expired" });
    const issued = issueGrant({ ...f.ctx, sessionTtlMs: 10 });
    if (issued.kind !== "grant") throw new Error("unreachable");
    expectCode(
      () => acceptGrant(issued.toInitiator, f.j1.deviceMembership, [f.sr.pending], f.now + 10),
      "E_EXPIRED",
    );
    expect(f.sr.pending.used).toBe(false);
  });

  it("caps the session lifetime by both memberships", () => {
    const f = grantFlow();
    const out = issueGrant({ ...f.ctx, sessionTtlMs: 10 ** 12 });
    if (out.kind !== "grant") throw new Error("unreachable");
    expect(out.expiresAt).toBe(Math.min(f.j1.headMembership.expiresAt, f.j2.headMembership.expiresAt));
    expect(T0).toBeLessThan(out.expiresAt);
  });

  it("echoes a 4-byte hint of the member's nonce; the member opens with the whole nonce it kept", () => {
    const f = grantFlow({ seed: "hint" });
    const issued = issueGrant(f.ctx);
    if (issued.kind !== "grant") throw new Error("unreachable");
    const g = decodeGrant(issued.toInitiator);
    expect(toHex(g.nonceHint)).toBe(toHex(f.sr.pending.nonce.subarray(0, 4)));
    // Another pending nonce with the same first 4 bytes (a 2^-32 event, forced here): the Grant's
    // AEAD, keyed with the whole nonce, picks the right entry whatever the order.
    const twin = {
      ...f.sr.pending,
      nonce: Uint8Array.from([...f.sr.pending.nonce.subarray(0, 4), ...new Uint8Array(12)]),
    };
    const genuine = { ...f.sr.pending };
    const s1 = acceptGrant(issued.toInitiator, f.j1.deviceMembership, [twin, genuine], f.now);
    expect([twin.used, genuine.used]).toEqual([false, true]);
    expect(toHex(s1.sessionId)).toBe(toHex(issued.sessionId));
    // The twin alone carries the hint but not the nonce: the tag refuses it.
    expectCode(
      () => acceptGrant(issued.toInitiator, f.j1.deviceMembership, [{ ...twin }], f.now),
      "E_BAD_TAG",
    );
  });

  it("sends its times as whole seconds, rounded down, and the replay key lives as long as the request is fresh", () => {
    const f = grantFlow({ seed: "seconds", now: T0 + 1999 });
    const sr = decodeGrantRequest(f.gr.message).sessionRequest;
    expect(sr.timestamp).toBe(T0 + 1000); // M1's clock, rounded down
    const out = issueGrant({ ...f.ctx, sessionTtlMs: 60_500 });
    if (out.kind !== "grant") throw new Error("unreachable");
    const g = decodeGrant(out.toResponder);
    expect(g.issuedAt).toBe(T0 + 1000);
    expect(g.expiresAt).toBe(T0 + 62_000); // floor(T0 + 1999 + 60500)
    expect(out.expiresAt).toBe(g.expiresAt);
    // The head keeps the replay key until timestamp + maxSkew: exactly the last instant at which
    // the freshness check still lets the request through.
    expect(out.replayKeyExpiresAt).toBe(sr.timestamp + 30_000);
    expect(issueGrant({ ...f.ctx, now: out.replayKeyExpiresAt }).kind).toBe("grant");
    expectCode(() => issueGrant({ ...f.ctx, now: out.replayKeyExpiresAt + 1 }), "E_EXPIRED");
  });
});
