import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nodeSymmetricBackend } from "../../platform/node-symmetric-backend";
import { nativeSymmetricBackend, sodiumSymmetricBackend } from "../../platform/sodium-symmetric-backend";
import { AeadSuite } from "../../protocol/constants";
import { nobleBackend } from "../../protocol/crypto/backend";
import { bytes, flipBit, hex, suites } from "./backend-arbitraries";

const sodium = sodiumSymmetricBackend();

describe("libsodium backend agrees with @noble and node:crypto byte for byte", () => {
  it("loads on this platform (linux-x64 prebuild) and names both libraries", () => {
    expect(sodium.name).toBe("node:crypto+libsodium");
    expect(nativeSymmetricBackend().backend.name).toBe("node:crypto+libsodium");
    expect(nativeSymmetricBackend().unavailable).toBeUndefined();
  });

  it("both AEADs: same ciphertext as @noble, each opens the other's, all refuse a flipped bit", () => {
    fc.assert(
      fc.property(
        suites,
        bytes(32),
        bytes(12),
        fc.uint8Array({ maxLength: 600 }),
        fc.uint8Array({ maxLength: 64 }),
        fc.nat(),
        (suite, key, nonce, plaintext, aad, flip) => {
          const sealed = nobleBackend.aeadSeal(suite, key, nonce, plaintext, aad);
          expect(hex(sodium.aeadSeal(suite, key, nonce, plaintext, aad))).toBe(hex(sealed));
          expect(hex(sodium.aeadOpen(suite, key, nonce, sealed, aad))).toBe(hex(plaintext));
          expect(
            hex(
              nobleBackend.aeadOpen(
                suite,
                key,
                nonce,
                sodium.aeadSeal(suite, key, nonce, plaintext, aad),
                aad,
              ),
            ),
          ).toBe(hex(plaintext));
          const tampered = flipBit(sealed, flip);
          expect(sodium.aeadOpen(suite, key, nonce, tampered, aad)).toBeUndefined();
          expect(nodeSymmetricBackend.aeadOpen(suite, key, nonce, tampered, aad)).toBeUndefined();
        },
      ),
      { numRuns: 300 },
    );
  });

  it("aeadSealInto writes the same bytes into a view of a larger array and touches nothing around it", () => {
    fc.assert(
      fc.property(
        suites,
        bytes(32),
        bytes(12),
        fc.uint8Array({ maxLength: 300 }),
        fc.uint8Array({ maxLength: 32 }),
        fc.integer({ min: 0, max: 40 }),
        (suite, key, nonce, plaintext, aad, at) => {
          const expected = hex(nobleBackend.aeadSeal(suite, key, nonce, plaintext, aad));
          for (const backend of [sodium, nodeSymmetricBackend]) {
            const message = new Uint8Array(at + plaintext.length + 16 + 7).fill(0xa5);
            const view = new Uint8Array(message.buffer, at, plaintext.length + 16);
            backend.aeadSealInto!(suite, key, nonce, plaintext, aad, view);
            expect(hex(view)).toBe(expected);
            expect(message.subarray(0, at).every((b) => b === 0xa5)).toBe(true);
            expect(message.subarray(at + plaintext.length + 16).every((b) => b === 0xa5)).toBe(true);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it("hashes, HMAC and HKDF are node:crypto's", () => {
    expect(sodium.sha256).toBe(nodeSymmetricBackend.sha256);
    expect(sodium.hmacSha256).toBe(nodeSymmetricBackend.hmacSha256);
    expect(sodium.hkdfSha256).toBe(nodeSymmetricBackend.hkdfSha256);
  });

  it("refuses a sealed input shorter than a tag without throwing", () => {
    const key = new Uint8Array(32);
    const nonce = new Uint8Array(12);
    expect(
      sodium.aeadOpen(AeadSuite.CHACHA20_POLY1305, key, nonce, new Uint8Array(15), new Uint8Array(0)),
    ).toBeUndefined();
  });

  it("refuses a wrong key, nonce or output length with a RangeError before libsodium sees it", () => {
    // libsodium's binding asserts these lengths in C and would abort the process.
    const C = AeadSuite.CHACHA20_POLY1305;
    const key = new Uint8Array(32);
    const nonce = new Uint8Array(12);
    const m = new Uint8Array(20);
    const sealed = sodium.aeadSeal(C, key, nonce, m, new Uint8Array(0));
    expect(() => sodium.aeadSeal(C, new Uint8Array(31), nonce, m, new Uint8Array(0))).toThrow(RangeError);
    expect(() => sodium.aeadSeal(C, key, new Uint8Array(24), m, new Uint8Array(0))).toThrow(RangeError);
    expect(() => sodium.aeadSealInto!(C, key, nonce, m, new Uint8Array(0), new Uint8Array(35))).toThrow(
      RangeError,
    );
    expect(() => sodium.aeadOpen(C, new Uint8Array(16), nonce, sealed, new Uint8Array(0))).toThrow(
      RangeError,
    );
    expect(() => sodium.aeadOpen(C, key, new Uint8Array(8), sealed, new Uint8Array(0))).toThrow(RangeError);
    expect(hex(sodium.aeadOpen(C, key, nonce, sealed, new Uint8Array(0)))).toBe(hex(m));
  });
});
