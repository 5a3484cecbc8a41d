/** Join-suite names, policies and the offer byte. */
import { describe, expect, it } from "vitest";
import { DEFAULT_JOIN_SUITES, JoinSuite, joinSuiteName, parseJoinSuites } from "../../../protocol";
import { chooseJoinSuite, decodeOffer, encodeOffer } from "../../../protocol/join/suites";

const CLASSIC = JoinSuite.SECP256K1_ECDH_HKDF_SHA256;
const HYBRID = JoinSuite.MLKEM768_SECP256K1_HKDF_SHA256;

describe("join suites", () => {
  it("parses a policy in preference order and names each suite", () => {
    expect(parseJoinSuites("hybrid,classic")).toEqual([HYBRID, CLASSIC]);
    expect(parseJoinSuites(" Hybrid ")).toEqual([HYBRID]);
    expect(parseJoinSuites("classic,hybrid")).toEqual([CLASSIC, HYBRID]);
    expect(DEFAULT_JOIN_SUITES).toEqual([HYBRID, CLASSIC]);
    expect([joinSuiteName(HYBRID), joinSuiteName(CLASSIC)]).toEqual(["hybrid", "classic"]);
  });

  it.each(["", "kyber", "hybrid,hybrid", "hybrid,,classic", "toString"])("refuses the policy %j", (text) => {
    expect(() => parseJoinSuites(text)).toThrow(RangeError);
  });

  it("encodes an offer as one bit per suite and refuses bits for no suite", () => {
    expect([encodeOffer([CLASSIC]), encodeOffer([HYBRID]), encodeOffer([HYBRID, CLASSIC])]).toEqual([
      1, 2, 3,
    ]);
    expect(decodeOffer(3)).toEqual([CLASSIC, HYBRID]);
    for (const bad of [0, 4, 7, 0x80]) expect(decodeOffer(bad)).toBeUndefined();
  });

  it("the head picks the first suite of its policy that the device offered", () => {
    expect(chooseJoinSuite([HYBRID, CLASSIC], [CLASSIC, HYBRID])).toBe(HYBRID);
    expect(chooseJoinSuite([CLASSIC, HYBRID], [CLASSIC, HYBRID])).toBe(CLASSIC);
    expect(chooseJoinSuite([HYBRID], [CLASSIC])).toBeUndefined();
  });
});
