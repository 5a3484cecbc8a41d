import { secp256k1 } from "@noble/curves/secp256k1.js";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { nativeCurveBackend } from "../../platform/native-curve-backend";
import { nobleCurveBackend, useCurveBackend } from "../../protocol/crypto/curve-backend";
import { recoverAddress, signLabelled } from "../../protocol/crypto/ecdsa";
import { generateIdentity, identityFromSecretKey } from "../../protocol/identity";
import { bytes, hex } from "./backend-arbitraries";

const native = nativeCurveBackend();
const N = secp256k1.Point.CURVE().n;
const scalar = fc
  .bigInt({ min: 1n, max: N - 1n })
  .map((x) => Uint8Array.from(Buffer.from(x.toString(16).padStart(64, "0"), "hex")));

describe("libsecp256k1 curve backend agrees with @noble byte for byte", () => {
  it("signs the same 65 bytes (RFC 6979, low-S), and each recovers the other's key", () => {
    fc.assert(
      fc.property(scalar, bytes(32), (secretKey, digest) => {
        const signature = nobleCurveBackend.signRecoverable(digest, secretKey);
        expect(hex(native.signRecoverable(digest, secretKey))).toBe(hex(signature));
        const key = nobleCurveBackend.publicKey(secretKey, false);
        expect(hex(native.recoverPublicKey(digest, signature))).toBe(hex(key));
        expect(hex(nobleCurveBackend.recoverPublicKey(digest, signature))).toBe(hex(key));
      }),
      { numRuns: 200 },
    );
  });

  it("derives the same public keys and ECDH x-coordinates, compressed and uncompressed peers", () => {
    fc.assert(
      fc.property(scalar, scalar, fc.boolean(), (a, b, compressed) => {
        expect(hex(native.publicKey(a, true))).toBe(hex(nobleCurveBackend.publicKey(a, true)));
        const peer = nobleCurveBackend.publicKey(b, compressed);
        expect(hex(native.ecdhX(a, peer))).toBe(hex(nobleCurveBackend.ecdhX(a, peer)));
        expect(hex(native.convertPoint(peer, !compressed))).toBe(
          hex(nobleCurveBackend.convertPoint(peer, !compressed)),
        );
      }),
      { numRuns: 200 },
    );
  });

  it("refuses the same invalid points: off the curve, wrong prefix, infinity, wrong length", () => {
    const valid = nobleCurveBackend.publicKey(Uint8Array.of(...new Uint8Array(31), 7), true);
    const offCurve = valid.slice();
    offCurve[32] = (offCurve[32] as number) ^ 1;
    const badPrefix = valid.slice();
    badPrefix[0] = 5;
    const cases = [
      offCurve,
      badPrefix,
      new Uint8Array(33),
      Uint8Array.of(0),
      new Uint8Array(65),
      valid.subarray(0, 32),
    ];
    const a = Uint8Array.of(...new Uint8Array(31), 3);
    for (const point of cases) {
      const verdicts = [nobleCurveBackend, native].map((b) => [
        b.convertPoint(point, true),
        b.ecdhX(a, point),
      ]);
      // The x-coordinate 2^256-ish with flipped bits may still be on the curve: then both agree it is.
      expect(
        verdicts.map((v) => v.map(hex)),
        hex(point),
      ).toEqual([verdicts[0]!.map(hex), verdicts[0]!.map(hex)]);
    }
    expect(native.convertPoint(badPrefix, true)).toBeUndefined();
    expect(native.ecdhX(a, new Uint8Array(33))).toBeUndefined();
  });

  it("gives a recovery failure, not an exception, for r that is no x-coordinate on the curve", () => {
    // x = 5 is not the x-coordinate of a point on secp256k1 (5^3 + 7 = 132 is a non-residue mod p).
    const signature = new Uint8Array(65);
    signature[31] = 5;
    signature[63] = 1;
    expect(native.recoverPublicKey(new Uint8Array(32).fill(1), signature)).toBeUndefined();
    expect(nobleCurveBackend.recoverPublicKey(new Uint8Array(32).fill(1), signature)).toBeUndefined();
  });
});

describe("the protocol's wrappers on the libsecp256k1 backend", () => {
  const previous = useCurveBackend(native);
  afterAll(() => {
    useCurveBackend(previous);
  });

  it("sign and recover through signLabelled/recoverAddress give the identity's address", () => {
    const id = generateIdentity();
    const signature = signLabelled(id.secretKey, "iotguard/v1/test", Uint8Array.of(1, 2, 3));
    expect(hex(recoverAddress("iotguard/v1/test", Uint8Array.of(1, 2, 3), signature))).toBe(hex(id.address));
    expect(hex(identityFromSecretKey(id.secretKey).address)).toBe(hex(id.address));
  });
});
