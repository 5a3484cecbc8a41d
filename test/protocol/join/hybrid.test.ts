/**
 * The hybrid join suite (ML-KEM-768 + secp256k1 ECDH) and join-suite negotiation, in the pure core:
 * both sides agree, the key schedule is the documented one, every offer/policy pair ends as
 * docs/protocol.md says, and a downgrade (the hybrid suite stripped from the offer, or the
 * head's hybrid answer rewritten as classic) is refused.
 */
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { ml_kem768 } from "@noble/post-quantum/ml-kem.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  acceptJoin,
  decodeJoinRequest,
  decodeJoinResponse,
  deviceTag,
  finishJoin,
  JoinSuite,
  Label,
  MessageSize,
  type RandomSource,
  startJoin,
  toHex,
} from "../../../protocol";
import { concatBytes, utf8 } from "../../../protocol/bytes";
import { Writer } from "../../../protocol/writer";
import { signCompact } from "../../../protocol/crypto/ecdsa";
import { encodeJoinRequest, encodeJoinResponse, type HybridJoinRequest } from "../../../protocol/join/codec";
import { deriveMemberKey, joinRequestBody, joinResponseBody } from "../../../protocol/join/transcript";
import { expectCode } from "../expect-code";
import { beginJoin, cluster, device, head, join, seededRandom, T0 } from "../helpers";

const CLASSIC = JoinSuite.SECP256K1_ECDH_HKDF_SHA256;
const HYBRID = JoinSuite.MLKEM768_SECP256K1_HKDF_SHA256;

/** A random source that also remembers what it handed out, to recompute the key schedule. */
function recording(seed: string): { random: RandomSource; draws: Uint8Array[] } {
  const inner = seededRandom(seed);
  const draws: Uint8Array[] = [];
  return {
    draws,
    random: (n) => {
      const out = inner(n);
      draws.push(out.slice());
      return out;
    },
  };
}

describe("hybrid join (ML-KEM-768 + secp256k1 ECDH)", () => {
  it("derives the same member key on both sides with the documented hybrid sizes and wipes every ephemeral secret", () => {
    const j = join(device(1), "hybrid1", T0, { offer: [HYBRID, CLASSIC] });
    expect(j.start.request).toHaveLength(MessageSize.JOIN_REQUEST_HYBRID);
    expect(j.res.response).toHaveLength(MessageSize.JOIN_RESPONSE_HYBRID);
    expect(MessageSize.JOIN_REQUEST_HYBRID).toBe(1325);
    expect(MessageSize.JOIN_RESPONSE_HYBRID).toBe(1196);
    expect(decodeJoinResponse(j.res.response).suite).toBe(HYBRID);
    expect([j.res.suite, j.start.state.suite]).toEqual([HYBRID, HYBRID]);
    expect(toHex(j.deviceMembership.memberKey)).toBe(toHex(j.headMembership.memberKey));
    // Forward secrecy: neither the ECDH scalar nor the ML-KEM decapsulation key outlives the join.
    expect(j.start.state.ephemeralSecretKey.every((b) => b === 0)).toBe(true);
    expect(j.start.state.kemSecretKey?.every((b) => b === 0)).toBe(true);
  });

  it("follows the documented key schedule: K_m = HKDF(ss_ML-KEM || Z_ECDH, SHA-256(label || T_res), label || kid)", () => {
    // Recompute K_m from the wire bytes and the device's randomness with the libraries directly,
    // building T_req and T_res from the layouts in docs/protocol.md, not from our transcript code.
    const d = device(3);
    const rec = recording("schedule");
    const { ctx, ch } = beginJoin(d, "schedule-head", T0);
    const again = startJoin({
      challengeMessage: ch.message,
      clusterId: cluster.clusterId,
      headAddress: head.address,
      deviceId: d.id,
      deviceSecretKey: d.identity.secretKey,
      position: d.position,
      random: rec.random,
      suites: [HYBRID, CLASSIC],
    });
    const res = acceptJoin({ ...ctx, request: decodeJoinRequest(again.request) });
    const membership = finishJoin(res.response, again.state, T0);

    const ecdhSeed = rec.draws.find((x) => x.length === 48) as Uint8Array;
    const kemSeed = rec.draws.find((x) => x.length === 64) as Uint8Array;
    const eD = secp256k1.utils.randomSecretKey(ecdhSeed);
    const dk = ml_kem768.keygen(kemSeed).secretKey;
    const req = again.request;
    const rsp = res.response;
    const eH = rsp.subarray(11, 44);
    const ct = rsp.subarray(44, 44 + 1088);
    const z = secp256k1.getSharedSecret(eD, eH, true).slice(1);
    const ss = ml_kem768.decapsulate(ct, dk);
    // T_req = 0x02 || 0x02 || suite || offer || clusterId || headAddress || challenge || deviceId || lat || lon || E_D || ek
    // (the wire carries the device tag at 4..19; T_req the full device ID, which is not sent)
    expect(toHex(req.subarray(4, 20))).toBe(toHex(deviceTag(d.id)));
    const tReq = concatBytes(
      req.subarray(0, 4),
      new Writer().u32(cluster.clusterId).finish(),
      head.address,
      req.subarray(20, 36),
      d.id,
      req.subarray(36, 44),
      req.subarray(44, 77),
      req.subarray(77, 77 + 1184),
    );
    // T_res = T_req || sigD (64, compact) || 0x03 || suite || kid || expiresAt (u32 s) || E_H || ct
    const tRes = concatBytes(tReq, req.subarray(1261), Uint8Array.of(0x03), rsp.subarray(2, 44), ct);
    const salt = sha256(concatBytes(utf8(Label.JOIN_RESPONSE), tRes));
    const expected = hkdf(
      sha256,
      concatBytes(ss, z),
      salt,
      concatBytes(utf8(Label.MEMBER_KEY), rsp.subarray(3, 7)),
      32,
    );
    expect(toHex(membership.memberKey)).toBe(toHex(expected));
    expect(toHex(res.membership.memberKey)).toBe(toHex(expected));
  });

  describe("negotiation: the device offers, the head picks by its policy", () => {
    it.each([
      { offer: [HYBRID, CLASSIC], policy: [HYBRID, CLASSIC], chosen: HYBRID },
      { offer: [HYBRID], policy: [HYBRID, CLASSIC], chosen: HYBRID },
      { offer: [HYBRID], policy: [HYBRID], chosen: HYBRID },
      { offer: [HYBRID, CLASSIC], policy: [HYBRID], chosen: HYBRID },
      { offer: [CLASSIC], policy: [HYBRID, CLASSIC], chosen: CLASSIC },
      { offer: [HYBRID, CLASSIC], policy: [CLASSIC], chosen: CLASSIC },
      { offer: [HYBRID, CLASSIC], policy: [CLASSIC, HYBRID], chosen: CLASSIC },
    ])("offer $offer under policy $policy joins with suite $chosen", ({ offer, policy, chosen }) => {
      const j = join(device(2), `neg-${offer}-${policy}`, T0, { offer, policy });
      expect(j.start.request).toHaveLength(
        offer.includes(HYBRID) ? MessageSize.JOIN_REQUEST_HYBRID : MessageSize.JOIN_REQUEST,
      );
      expect(j.res.response).toHaveLength(
        chosen === HYBRID ? MessageSize.JOIN_RESPONSE_HYBRID : MessageSize.JOIN_RESPONSE,
      );
      expect([j.res.suite, j.start.state.suite]).toEqual([chosen, chosen]);
      expect(toHex(j.deviceMembership.memberKey)).toBe(toHex(j.headMembership.memberKey));
      expect(j.start.state.kemSecretKey?.every((b) => b === 0) ?? true).toBe(true);
    });

    it("the protocol core's defaults: a device offers classic only, a head prefers hybrid and allows classic", () => {
      const plain = join(device(4), "defaults");
      expect(plain.start.request).toHaveLength(MessageSize.JOIN_REQUEST);
      expect(plain.res.suite).toBe(CLASSIC);
      const hybrid = join(device(4), "defaults-h", T0, { offer: [CLASSIC, HYBRID] });
      expect(hybrid.res.suite).toBe(HYBRID);
    });

    it("a hybrid-only head refuses a classic-only device with E_SUITE_REFUSED", () => {
      const { ctx } = beginJoin(device(5), "refuse1", T0, { offer: [CLASSIC], policy: [HYBRID] });
      expectCode(() => acceptJoin(ctx), "E_SUITE_REFUSED");
    });

    it("a classic-only head refuses a hybrid-only device with E_SUITE_REFUSED", () => {
      const { ctx } = beginJoin(device(5), "refuse2", T0, { offer: [HYBRID], policy: [CLASSIC] });
      expectCode(() => acceptJoin(ctx), "E_SUITE_REFUSED");
    });

    it("a device refuses a suite it did not offer, even when the head signed it", () => {
      // A head that answers classically to a hybrid-only offer (a bug or a compromised policy).
      const { ctx, start } = beginJoin(device(6), "unoffered", T0, { offer: [HYBRID] });
      const requestBody = joinRequestBody(cluster.clusterId, head.address, device(6).id, ctx.request);
      const fields = {
        suite: CLASSIC,
        kid: new Uint8Array([1, 2, 3, 4]),
        expiresAt: T0 + 60_000,
        ephemeralPublicKey: decodeJoinResponse(acceptJoin(ctx).response).ephemeralPublicKey,
      };
      const body = joinResponseBody(requestBody, ctx.request.signature, fields);
      const forced = encodeJoinResponse({
        ...fields,
        signature: signCompact(head.secretKey, Label.JOIN_RESPONSE, body),
      });
      expectCode(() => finishJoin(forced, start.state, T0), "E_SUITE_REFUSED");
    });

    it("refuses an empty or unknown offer and a policy without a suite", () => {
      const d = device(7);
      expect(() => beginJoin(d, "empty", T0, { offer: [] })).toThrow(RangeError);
      expect(() => beginJoin(d, "bogus", T0, { offer: [3 as JoinSuite] })).toThrow(RangeError);
      const { ctx } = beginJoin(d, "nopolicy", T0);
      expect(() => acceptJoin({ ...ctx, suites: [] })).toThrow(RangeError);
    });
  });

  describe("downgrade attempts", () => {
    it("stripping the hybrid suite from the offer makes the join fail at the head", () => {
      // The attacker rewrites the device's hybrid request as a classic one (suite 1, no offer, no
      // ML-KEM key) and keeps every other field and the device's signature.
      const { ctx } = beginJoin(device(8), "strip", T0, { offer: [HYBRID, CLASSIC] });
      const hybrid = ctx.request as HybridJoinRequest;
      const stripped = encodeJoinRequest({
        suite: CLASSIC,
        deviceTag: hybrid.deviceTag,
        challenge: hybrid.challenge,
        position: hybrid.position,
        ephemeralPublicKey: hybrid.ephemeralPublicKey,
        signature: hybrid.signature,
      });
      expect(stripped).toHaveLength(MessageSize.JOIN_REQUEST);
      // The head allows classic, so only the signature over the offer stops this.
      expectCode(() => acceptJoin({ ...ctx, request: decodeJoinRequest(stripped) }), "E_BAD_SIGNATURE");
      // Keeping the hybrid layout but dropping the hybrid bit is not even well-formed.
      const offerOnly = encodeJoinRequest(hybrid);
      offerOnly[3] = 0x01; // the offer byte: classic only
      expectCode(() => decodeJoinRequest(offerOnly), "E_MALFORMED");
    });

    it("the head's signature covers the offer: its answer to a classic request does not complete a hybrid one", () => {
      // Same device, same challenge, signed twice: once offering hybrid, once classic only (as a
      // device that fell back would). The head answers the classic one; the attacker delivers that
      // answer to the hybrid attempt.
      const d = device(9);
      const h = beginJoin(d, "fallback", T0, { offer: [HYBRID, CLASSIC] });
      const c = beginJoin(d, "fallback", T0, { offer: [CLASSIC] });
      expect(toHex(c.ctx.request.challenge)).toBe(toHex(h.ctx.request.challenge));
      const classicAnswer = acceptJoin(c.ctx).response;
      expectCode(() => finishJoin(classicAnswer, h.start.state, T0), "E_BAD_SIGNATURE");
    });

    it("the head's hybrid answer rewritten as classic is refused by the device", () => {
      const { ctx, start } = beginJoin(device(10), "rewrite", T0, { offer: [HYBRID, CLASSIC] });
      const genuine = decodeJoinResponse(acceptJoin(ctx).response);
      const downgraded = encodeJoinResponse({
        suite: CLASSIC,
        kid: genuine.kid,
        expiresAt: genuine.expiresAt,
        ephemeralPublicKey: genuine.ephemeralPublicKey,
        signature: genuine.signature,
      });
      expectCode(() => finishJoin(downgraded, start.state, T0), "E_BAD_SIGNATURE");
      // The refused forgery leaves the state usable for the genuine answer (if it arrives).
      expect(start.state.kemSecretKey?.some((b) => b !== 0)).toBe(true);
    });
  });

  it("refuses a signed request whose ML-KEM key fails the FIPS 203 modulus check (E_MALFORMED)", () => {
    const d = device(11);
    const { ctx } = beginJoin(d, "modulus", T0, { offer: [HYBRID] });
    const req = { ...(ctx.request as HybridJoinRequest) };
    const ek = req.kemPublicKey.slice();
    ek[0] = 0xff; // first 12-bit coefficient becomes 0x?ff ≥ q = 3329 once the next nibble is 0xf
    ek[1] = (ek[1] as number) | 0x0f;
    req.kemPublicKey = ek;
    const body = joinRequestBody(cluster.clusterId, head.address, d.id, req);
    req.signature = signCompact(d.identity.secretKey, Label.JOIN_REQUEST, body);
    expectCode(
      () => acceptJoin({ ...ctx, request: decodeJoinRequest(encodeJoinRequest(req)) }),
      "E_MALFORMED",
    );
  });

  it("K_m changes when either shared secret changes (property)", () => {
    const secret = fc.uint8Array({ minLength: 32, maxLength: 32 });
    fc.assert(
      fc.property(
        secret,
        secret,
        secret,
        secret,
        fc.uint8Array({ minLength: 1, maxLength: 200 }),
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        (z, z2, ss, ss2, body, kid) => {
          fc.pre(toHex(z) !== toHex(z2) && toHex(ss) !== toHex(ss2));
          const km = toHex(deriveMemberKey(z, body, kid, ss));
          expect(toHex(deriveMemberKey(z2, body, kid, ss))).not.toBe(km); // ECDH changed, ML-KEM kept
          expect(toHex(deriveMemberKey(z, body, kid, ss2))).not.toBe(km); // ML-KEM changed, ECDH kept
          expect(toHex(deriveMemberKey(z, body, kid))).not.toBe(km); // the classic key differs too
        },
      ),
      { numRuns: 300 },
    );
  });
});
