/**
 * HKDF-SHA256 through our wrapper, with every symmetric backend: the RFC 5869 Appendix A vectors
 * (test cases 1–3, SHA-256) and the wrapper's own bounds. Wycheproof's HKDF file runs in
 * wycheproof.test.ts; random inputs are cross-checked against @noble in
 * test/platform/node-symmetric-backend.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeSymmetricBackend } from "../../../platform/node-symmetric-backend";
import { fromHex, toHex } from "../../../protocol/bytes";
import { nobleBackend, type SymmetricBackend, useSymmetricBackend } from "../../../protocol/crypto/backend";
import { deriveKey, HKDF_SHA256_MAX_OUTPUT, hkdfSha256 } from "../../../protocol/crypto/kdf";

const range = (from: number, to: number) => Uint8Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** RFC 5869 Appendix A.1–A.3 (the SHA-256 cases). */
const RFC5869 = [
  {
    name: "A.1 basic",
    ikm: new Uint8Array(22).fill(0x0b),
    salt: range(0x00, 0x0c),
    info: range(0xf0, 0xf9),
    okm: "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
  },
  {
    name: "A.2 longer inputs and outputs",
    ikm: range(0x00, 0x4f),
    salt: range(0x60, 0xaf),
    info: range(0xb0, 0xff),
    okm:
      "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c" +
      "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71" +
      "cc30c58179ec3e87c14c01d5c1f3434f1d87",
  },
  {
    name: "A.3 zero-length salt and info",
    ikm: new Uint8Array(22).fill(0x0b),
    salt: new Uint8Array(0),
    info: new Uint8Array(0),
    okm: "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
  },
];

describe.each([nobleBackend, nodeSymmetricBackend])("HKDF-SHA256 with the $name backend", (backend) => {
  let previous: SymmetricBackend;
  beforeAll(() => {
    previous = useSymmetricBackend(backend);
  });
  afterAll(() => {
    useSymmetricBackend(previous);
  });

  it.each(RFC5869)("gives the RFC 5869 output of test case $name", (v) => {
    expect(toHex(hkdfSha256(v.ikm, v.salt, v.info, v.okm.length / 2))).toBe(v.okm);
  });

  it("gives every prefix of the RFC 5869 A.2 output for shorter lengths (one and several blocks)", () => {
    const v = RFC5869[1]!;
    for (const length of [1, 31, 32, 33, 64, 81])
      expect(toHex(hkdfSha256(v.ikm, v.salt, v.info, length)), `length ${length}`).toBe(
        v.okm.slice(0, 2 * length),
      );
  });

  it("treats an empty salt as 32 zero bytes (RFC 5869 §2.2)", () => {
    const ikm = fromHex("00112233445566778899aabbccddeeff");
    expect(toHex(hkdfSha256(ikm, new Uint8Array(0), Uint8Array.of(1), 32))).toBe(
      toHex(hkdfSha256(ikm, new Uint8Array(32), Uint8Array.of(1), 32)),
    );
  });

  it("derives from an empty input key (a zero-length IKM is valid HKDF)", () => {
    expect(toHex(hkdfSha256(new Uint8Array(0), Uint8Array.of(7), Uint8Array.of(1), 32))).toBe(
      toHex(nobleBackend.hkdfSha256(new Uint8Array(0), Uint8Array.of(7), Uint8Array.of(1), 32)),
    );
  });

  it("produces the longest output RFC 5869 allows and refuses lengths outside 1..8160", () => {
    const ikm = new Uint8Array(32).fill(9);
    const long = hkdfSha256(ikm, new Uint8Array(0), Uint8Array.of(2), HKDF_SHA256_MAX_OUTPUT);
    expect(toHex(long)).toBe(
      toHex(nobleBackend.hkdfSha256(ikm, new Uint8Array(0), Uint8Array.of(2), HKDF_SHA256_MAX_OUTPUT)),
    );
    for (const length of [0, -1, 1.5, HKDF_SHA256_MAX_OUTPUT + 1])
      expect(() => hkdfSha256(ikm, new Uint8Array(0), new Uint8Array(0), length), `length ${length}`).toThrow(
        RangeError,
      );
  });

  it("binds deriveKey's output to its label (domain separation)", () => {
    const ikm = new Uint8Array(32).fill(3);
    const a = deriveKey(ikm, new Uint8Array(0), "iotguard/v1/a", new Uint8Array(0), 32);
    const b = deriveKey(ikm, new Uint8Array(0), "iotguard/v1/b", new Uint8Array(0), 32);
    expect(toHex(a)).not.toBe(toHex(b));
  });
});
