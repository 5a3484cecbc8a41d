import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  decodeGrant,
  decodeGrantRequest,
  decodeJoinChallenge,
  decodeJoinRequest,
  decodeJoinResponse,
  decodeSessionRequest,
  FRAME_OVERHEAD,
  fromHex,
  JoinSuite,
  MessageSize,
  PROTOCOL_VERSION,
} from "../../../protocol";
import { expectCode } from "../expect-code";
import { fullSession } from "../grant-fixture";
import { device, join } from "../helpers";
import { generateVectors } from "./generate";

const load = (name: string) =>
  JSON.parse(readFileSync(path.join(__dirname, name), "utf8")) as Record<string, string>;

describe("fixed vectors for our own messages", () => {
  it("every message matches iotguard-v2.json byte for byte", () => {
    const expected = load("iotguard-v2.json");
    const got = generateVectors();
    expect(Object.keys(got).sort()).toEqual(Object.keys(expected).sort());
    for (const k of Object.keys(expected)) expect(got[k], k).toBe(expected[k]);
  });

  it("version 2 refuses every version-1 join and grant message (iotguard-v1.json) as E_MALFORMED", () => {
    expect(PROTOCOL_VERSION).toBe(2);
    const v1 = load("iotguard-v1.json");
    const decoders: [string, (b: Uint8Array) => unknown][] = [
      ["joinChallenge", decodeJoinChallenge],
      ["joinRequest", decodeJoinRequest],
      ["joinRequestHybrid", decodeJoinRequest],
      ["joinResponse", decodeJoinResponse],
      ["joinResponseHybrid", decodeJoinResponse],
      ["sessionRequest", decodeSessionRequest],
      ["grantRequest", decodeGrantRequest],
      ["grantToInitiator", decodeGrant],
    ];
    for (const [name, decode] of decoders) {
      const old = fromHex(v1[name] as string);
      expect(old[0], name).toBe(1);
      expectCode(() => decode(old), "E_MALFORMED");
    }
  });
});

describe("wire sizes (measured)", () => {
  it("reports join and grant bytes per member: 400 with direct delivery of M1's Grant, 436 relayed", () => {
    const f = fullSession({ seed: "sizes" });
    const join = f.j1.challenge.message.length + f.j1.start.request.length + f.j1.res.response.length;
    // Direct (as deployed): each Grant travels once, from the head to its member: M2's in the
    // session answer, M1's on M1's ctl topic (docs/protocol.md § Direct delivery of M1's Grant).
    const grantDirect =
      f.sr.message.length + f.gr.message.length + f.issued.toInitiator.length + f.issued.toResponder.length;
    // The fallback, Otway–Rees relay: the head sends both copies to M2, which forwards M1's.
    const grantRelay = grantDirect + f.issued.toInitiator.length;
    const perMemberDirect = join + grantDirect / 2;
    const perMemberRelay = join + grantRelay / 2;
    console.info(
      `[measure] join=${join} B (challenge ${MessageSize.JOIN_CHALLENGE} + request ${MessageSize.JOIN_REQUEST} + response ${MessageSize.JOIN_RESPONSE}); ` +
        `grant flow=${grantDirect} B direct / ${grantRelay} B relayed via M2; ` +
        `per member=${perMemberDirect} B direct / ${perMemberRelay} B relayed (goal 400); frame overhead=${FRAME_OVERHEAD} B`,
    );
    expect(join).toBe(18 + 140 + 108);
    expect(grantDirect).toBe(43 + 81 + 2 * 72);
    expect(perMemberDirect).toBe(400);
    expect(perMemberRelay).toBe(436);
    expect(FRAME_OVERHEAD).toBe(31);
  });

  it("reports the hybrid join's bytes and what the ML-KEM key and ciphertext add", () => {
    const j = join(device(1), "sizes-hybrid", undefined, {
      offer: [JoinSuite.MLKEM768_SECP256K1_HKDF_SHA256, JoinSuite.SECP256K1_ECDH_HKDF_SHA256],
    });
    const hybrid = j.challenge.message.length + j.start.request.length + j.res.response.length;
    console.info(
      `[measure] hybrid join=${hybrid} B (challenge ${MessageSize.JOIN_CHALLENGE} + request ${MessageSize.JOIN_REQUEST_HYBRID} + response ${MessageSize.JOIN_RESPONSE_HYBRID}); ` +
        `+${hybrid - 266} B over classic: offer 1 + ML-KEM ek 1184 + ciphertext 1088`,
    );
    expect(hybrid).toBe(2539);
    expect(hybrid - 266).toBe(1 + 1184 + 1088);
  });
});
