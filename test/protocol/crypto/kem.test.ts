/**
 * The ML-KEM-768 wrapper: sizes from FIPS 203 Table 3, randomness only from the caller's source,
 * typed refusals for peer bytes of the wrong size or an encapsulation key that fails the modulus
 * check, implicit rejection of a tampered ciphertext. (Wycheproof vectors: wycheproof.test.ts.)
 */
import { describe, expect, it } from "vitest";
import { Size, toHex } from "../../../protocol";
import {
  generateKemKeyPair,
  kemDecapsulate,
  kemEncapsulate,
  kemKeyPairFromSeed,
} from "../../../protocol/crypto/kem";
import { expectCode } from "../expect-code";
import { seededRandom } from "../helpers";

describe("ML-KEM-768 wrapper", () => {
  it("generates FIPS 203 sized keys and agrees on the shared secret", () => {
    const kp = generateKemKeyPair(seededRandom("kem1"));
    expect([kp.publicKey.length, kp.secretKey.length]).toEqual([Size.KEM_PUBLIC_KEY, Size.KEM_SECRET_KEY]);
    expect([Size.KEM_PUBLIC_KEY, Size.KEM_SECRET_KEY, Size.KEM_CIPHERTEXT]).toEqual([1184, 2400, 1088]);
    const enc = kemEncapsulate(kp.publicKey, seededRandom("enc1"));
    expect(enc.cipherText).toHaveLength(Size.KEM_CIPHERTEXT);
    expect(enc.sharedSecret).toHaveLength(Size.KEM_SHARED_SECRET);
    expect(toHex(kemDecapsulate(enc.cipherText, kp.secretKey))).toBe(toHex(enc.sharedSecret));
  });

  it("draws its randomness from the caller's source only (seeded runs repeat, different seeds differ)", () => {
    const a = generateKemKeyPair(seededRandom("same"));
    const b = generateKemKeyPair(seededRandom("same"));
    const c = generateKemKeyPair(seededRandom("other"));
    expect(toHex(a.publicKey)).toBe(toHex(b.publicKey));
    expect(toHex(a.publicKey)).not.toBe(toHex(c.publicKey));
    const e1 = kemEncapsulate(a.publicKey, seededRandom("m"));
    const e2 = kemEncapsulate(a.publicKey, seededRandom("m"));
    expect(toHex(e1.cipherText)).toBe(toHex(e2.cipherText));
    expect(toHex(kemKeyPairFromSeed(seededRandom("same")(64)).publicKey)).toBe(toHex(a.publicKey));
  });

  it("refuses a peer's encapsulation key of the wrong size with E_MALFORMED", () => {
    const kp = generateKemKeyPair(seededRandom("kem2"));
    for (const bad of [kp.publicKey.subarray(1), new Uint8Array(Size.KEM_PUBLIC_KEY + 1), new Uint8Array(0)])
      expectCode(() => kemEncapsulate(bad, seededRandom("x")), "E_MALFORMED");
  });

  it("refuses an encapsulation key whose coefficients are not reduced mod q (FIPS 203 §7.2 modulus check)", () => {
    const ek = generateKemKeyPair(seededRandom("kem3")).publicKey.slice();
    ek[0] = 0xff;
    ek[1] = (ek[1] as number) | 0x0f; // first 12-bit coefficient 0xfff = 4095 ≥ 3329
    expectCode(() => kemEncapsulate(ek, seededRandom("x")), "E_MALFORMED");
  });

  it("refuses a ciphertext of the wrong size with E_MALFORMED", () => {
    const kp = generateKemKeyPair(seededRandom("kem4"));
    const { cipherText } = kemEncapsulate(kp.publicKey, seededRandom("y"));
    for (const bad of [cipherText.subarray(1), new Uint8Array(Size.KEM_CIPHERTEXT + 1)])
      expectCode(() => kemDecapsulate(bad, kp.secretKey), "E_MALFORMED");
  });

  it("answers a tampered ciphertext with an unrelated secret (implicit rejection), never an error", () => {
    const kp = generateKemKeyPair(seededRandom("kem5"));
    const { cipherText, sharedSecret } = kemEncapsulate(kp.publicKey, seededRandom("z"));
    const tampered = cipherText.slice();
    tampered[100] = (tampered[100] as number) ^ 1;
    const other = kemDecapsulate(tampered, kp.secretKey);
    expect(other).toHaveLength(32);
    expect(toHex(other)).not.toBe(toHex(sharedSecret));
  });

  it("treats a wrong-sized own key or seed as a programming error naming the argument", () => {
    const kp = generateKemKeyPair(seededRandom("kem6"));
    const { cipherText } = kemEncapsulate(kp.publicKey, seededRandom("w"));
    expect(() => kemDecapsulate(cipherText, kp.secretKey.subarray(1))).toThrow(/secretKey/);
    expect(() => kemKeyPairFromSeed(new Uint8Array(63))).toThrow(/seed/);
    expect(() => generateKemKeyPair(() => new Uint8Array(10))).toThrow(RangeError);
    // A decapsulation key whose embedded H(ek) does not match is not ours.
    const corrupt = kp.secretKey.slice();
    corrupt[Size.KEM_SECRET_KEY - 40] = (corrupt[Size.KEM_SECRET_KEY - 40] as number) ^ 1;
    expect(() => kemDecapsulate(cipherText, corrupt)).toThrow(/secretKey/);
  });
});
