/**
 * Every single-bit flip of the hybrid join messages is refused with a typed error: exhaustive over
 * all bit positions, so every bit of the new fields (suite, offer, the 1184-byte ML-KEM key, the
 * 1088-byte ciphertext) is covered. The classic messages: test/protocol/bitflip.test.ts.
 */
import { describe, expect, it } from "vitest";
import {
  acceptJoin,
  decodeJoinRequest,
  deviceTag,
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
  // Hybrid layout: 0–1 header, 2 suite, 3 offer, 4–19 device tag, 20–35 challenge, 36–43 position,
  // 44–76 E_D, 77–1260 ML-KEM ek, 1261–1324 sigD (compact).
  it("hybrid JoinRequest, every bit of all 1325 bytes incl. suite, offer and ML-KEM key (head side)", () => {
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
        if (i < 20) return ["E_NOT_MEMBER"];
        if (i < 36) return ["E_UNKNOWN_CHALLENGE"];
        if (i < 44) return ["E_MALFORMED", "E_OUTSIDE_RADIUS", "E_BAD_SIGNATURE"];
        if (i === 44) return ["E_MALFORMED", "E_BAD_SIGNATURE"];
        return ["E_BAD_SIGNATURE"]; // E_D and the ML-KEM key are signed; sigD itself
      },
      (m) => {
        const req = decodeJoinRequest(m);
        return acceptJoin({
          ...ctx,
          request: req,
          challenge: equalBytes(req.challenge, ctx.challenge.challenge) ? ctx.challenge : undefined,
          candidates: equalBytes(req.deviceTag, deviceTag(d.id)) ? [d.record] : [],
          random: seededRandom("flip"),
        });
      },
    );
    expect(seen.get("E_BAD_SIGNATURE")).toBeGreaterThan(9472); // at least every bit of ek
  }, 300_000);

  // Hybrid layout: 0–1 header, 2 suite, 3–6 kid, 7–10 expiresAt, 11–43 E_H, 44–1131 ML-KEM
  // ciphertext, 1132–1195 sigH (compact).
  it("hybrid JoinResponse, every bit of all 1196 bytes incl. suite and ML-KEM ciphertext (device side)", () => {
    const { ctx, start } = beginJoin(device(2), "flip-hybrid-res", T0, { offer: [HYBRID, CLASSIC] });
    const response = acceptJoin(ctx).response;
    expect(response).toHaveLength(MessageSize.JOIN_RESPONSE_HYBRID);
    const seen = everyFlip(
      response,
      (i) => {
        if (i < 3) return ["E_MALFORMED"];
        if (i < 11) return ["E_BAD_SIGNATURE"]; // kid, expiresAt (every u32 is a time)
        if (i === 11) return ["E_BAD_SIGNATURE", "E_MALFORMED"]; // point prefix
        return ["E_BAD_SIGNATURE"]; // E_H, ciphertext, sigH
      },
      (m) => finishJoin(m, start.state, T0),
    );
    expect(seen.get("E_BAD_SIGNATURE")).toBeGreaterThan(8704); // at least every bit of the ciphertext
    // Nothing was accepted, so the device still completes with the genuine answer.
    expect(() => finishJoin(response, start.state, T0)).not.toThrow();
  }, 300_000);
});
