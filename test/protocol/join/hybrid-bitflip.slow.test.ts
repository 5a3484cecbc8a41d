/**
 * Every single-bit flip of the hybrid join messages is refused with a typed error: exhaustive over
 * all bit positions, so every bit of the new fields (suite, offer, the 1184-byte ML-KEM key, the
 * 1088-byte ciphertext) is covered. The classic messages: test/protocol/bitflip.test.ts.
 */
import { describe, expect, it } from "vitest";
import {
  acceptJoin,
  decodeJoinRequest,
  equalBytes,
  finishJoin,
  JoinSuite,
  MessageSize,
} from "../../../protocol";
import { encodeJoinRequest } from "../../../protocol/join/codec";
import { everyFlip } from "../flip";
import { beginJoin, device, seededRandom, T0 } from "../helpers";

const HYBRID = JoinSuite.MLKEM768_SECP256K1_HKDF_SHA256;
const CLASSIC = JoinSuite.SECP256K1_ECDH_HKDF_SHA256;

describe("single-bit flips of the hybrid join are refused", () => {
  // Hybrid layout: 0–1 header, 2 suite, 3 offer, 4–35 deviceId, 36–51 challenge, 52–59 position,
  // 60–92 E_D, 93–1276 ML-KEM ek, 1277–1341 sigD.
  it("hybrid JoinRequest, every bit of all 1342 bytes incl. suite, offer and ML-KEM key (head side)", () => {
    const d = device(1);
    const { ctx } = beginJoin(d, "flip-hybrid-req", T0, { offer: [HYBRID, CLASSIC] });
    const request = encodeJoinRequest(ctx.request);
    expect(request).toHaveLength(MessageSize.JOIN_REQUEST_HYBRID);
    const seen = everyFlip(
      request,
      (i) => {
        if (i < 2) return ["E_MALFORMED"];
        if (i === 2) return ["E_MALFORMED"]; // no single flip turns suite 2 into suite 1
        if (i === 3) return ["E_MALFORMED", "E_BAD_SIGNATURE"]; // offer: {2} is well-formed, then sigD fails
        if (i < 36) return ["E_NOT_MEMBER"];
        if (i < 52) return ["E_UNKNOWN_CHALLENGE"];
        if (i < 60) return ["E_MALFORMED", "E_OUTSIDE_RADIUS", "E_BAD_SIGNATURE"];
        if (i === 60) return ["E_MALFORMED", "E_BAD_SIGNATURE"];
        return ["E_BAD_SIGNATURE"]; // E_D and the ML-KEM key are signed; sigD itself
      },
      (m) => {
        const req = decodeJoinRequest(m);
        return acceptJoin({
          ...ctx,
          request: req,
          challenge: equalBytes(req.challenge, ctx.challenge.challenge) ? ctx.challenge : undefined,
          device: equalBytes(req.deviceId, d.id) ? d.record : undefined,
          random: seededRandom("flip"),
        });
      },
    );
    expect(seen.get("E_BAD_SIGNATURE")).toBeGreaterThan(9472); // at least every bit of ek
  }, 300_000);

  // Hybrid layout: 0–1 header, 2 suite, 3–6 kid, 7–14 expiresAt, 15–47 E_H, 48–1135 ML-KEM
  // ciphertext, 1136–1200 sigH.
  it("hybrid JoinResponse, every bit of all 1201 bytes incl. suite and ML-KEM ciphertext (device side)", () => {
    const { ctx, start } = beginJoin(device(2), "flip-hybrid-res", T0, { offer: [HYBRID, CLASSIC] });
    const response = acceptJoin(ctx).response;
    expect(response).toHaveLength(MessageSize.JOIN_RESPONSE_HYBRID);
    const seen = everyFlip(
      response,
      (i) => {
        if (i < 3) return ["E_MALFORMED"];
        if (i < 15) return ["E_BAD_SIGNATURE", "E_MALFORMED"]; // kid, expiresAt (> 2^53 is malformed)
        if (i === 15) return ["E_BAD_SIGNATURE", "E_MALFORMED"];
        return ["E_BAD_SIGNATURE"]; // E_H, ciphertext, sigH
      },
      (m) => finishJoin(m, start.state, T0),
    );
    expect(seen.get("E_BAD_SIGNATURE")).toBeGreaterThan(8704); // at least every bit of the ciphertext
    // Nothing was accepted, so the device still completes with the genuine answer.
    expect(() => finishJoin(response, start.state, T0)).not.toThrow();
  }, 300_000);
});
