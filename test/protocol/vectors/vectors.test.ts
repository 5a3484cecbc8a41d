import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { FRAME_OVERHEAD, JoinSuite, MessageSize } from "../../../protocol";
import { fullSession } from "../grant-fixture";
import { device, join } from "../helpers";
import { generateVectors } from "./generate";

describe("fixed vectors for our own messages", () => {
  it("every message matches iotguard-v1.json byte for byte", () => {
    const expected = JSON.parse(readFileSync(path.join(__dirname, "iotguard-v1.json"), "utf8")) as Record<
      string,
      string
    >;
    const got = generateVectors();
    expect(Object.keys(got).sort()).toEqual(Object.keys(expected).sort());
    for (const k of Object.keys(expected)) expect(got[k], k).toBe(expected[k]);
  });
});

describe("wire sizes (measured)", () => {
  it("reports join and grant bytes per member", () => {
    const f = fullSession({ seed: "sizes" });
    const join = f.j1.challenge.message.length + f.j1.start.request.length + f.j1.res.response.length;
    const grantDirect =
      f.sr.message.length + f.gr.message.length + f.issued.toInitiator.length + f.issued.toResponder.length;
    // Otway–Rees relay: the head sends both copies to M2, which forwards M1's.
    const grantRelay = grantDirect + f.issued.toInitiator.length;
    const perMemberDirect = join + grantDirect / 2;
    const perMemberRelay = join + grantRelay / 2;
    console.info(
      `[measure] join=${join} B (challenge ${MessageSize.JOIN_CHALLENGE} + request ${MessageSize.JOIN_REQUEST} + response ${MessageSize.JOIN_RESPONSE}); ` +
        `grant flow=${grantDirect} B direct / ${grantRelay} B relayed via M2; ` +
        `per member=${perMemberDirect} B direct / ${perMemberRelay} B relayed (goal 400); frame overhead=${FRAME_OVERHEAD} B`,
    );
    expect(join).toBe(292);
    expect(grantDirect).toBe(316);
    expect(perMemberDirect).toBe(450);
    expect(FRAME_OVERHEAD).toBe(31);
  });

  it("reports the hybrid join's bytes and what the ML-KEM key and ciphertext add", () => {
    const j = join(device(1), "sizes-hybrid", undefined, {
      offer: [JoinSuite.MLKEM768_SECP256K1_HKDF_SHA256, JoinSuite.SECP256K1_ECDH_HKDF_SHA256],
    });
    const hybrid = j.challenge.message.length + j.start.request.length + j.res.response.length;
    console.info(
      `[measure] hybrid join=${hybrid} B (challenge ${MessageSize.JOIN_CHALLENGE} + request ${MessageSize.JOIN_REQUEST_HYBRID} + response ${MessageSize.JOIN_RESPONSE_HYBRID}); ` +
        `+${hybrid - 292} B over classic: offer 1 + ML-KEM ek 1184 + ciphertext 1088`,
    );
    expect(hybrid).toBe(2565);
    expect(hybrid - 292).toBe(1 + 1184 + 1088);
  });
});
