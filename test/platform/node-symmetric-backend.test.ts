import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nodeSymmetricBackend } from "../../platform/node-symmetric-backend";
import { nobleBackend } from "../../protocol/crypto/backend";
import { bytes, flipBit, hex, suites } from "./backend-arbitraries";

describe("node:crypto backend agrees with @noble byte for byte", () => {
  it("SHA-256, HMAC-SHA256 and HKDF-SHA256", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.uint8Array({ maxLength: 80 }),
        fc.uint8Array({ maxLength: 80 }),
        fc.integer({ min: 1, max: 255 * 32 }),
        (data, key, info, length) => {
          expect(hex(nodeSymmetricBackend.sha256(data))).toBe(hex(nobleBackend.sha256(data)));
          expect(hex(nodeSymmetricBackend.hmacSha256(key, data))).toBe(
            hex(nobleBackend.hmacSha256(key, data)),
          );
          // The salt doubles as the HMAC key above: empty, short, and longer than a block.
          expect(hex(nodeSymmetricBackend.hkdfSha256(data, key, info, length))).toBe(
            hex(nobleBackend.hkdfSha256(data, key, info, length)),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it("HKDF-SHA256 at the protocol's key sizes (the two-HMAC fast path), random inputs", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.uint8Array({ maxLength: 48 }),
        fc.uint8Array({ maxLength: 64 }),
        fc.constantFrom(12, 16, 31, 32, 33),
        (ikm, salt, info, length) => {
          expect(hex(nodeSymmetricBackend.hkdfSha256(ikm, salt, info, length))).toBe(
            hex(nobleBackend.hkdfSha256(ikm, salt, info, length)),
          );
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("both AEADs: same ciphertext, each opens the other's, both refuse a flipped bit", () => {
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
          expect(hex(nodeSymmetricBackend.aeadSeal(suite, key, nonce, plaintext, aad))).toBe(hex(sealed));
          expect(hex(nodeSymmetricBackend.aeadOpen(suite, key, nonce, sealed, aad))).toBe(hex(plaintext));
          const tampered = flipBit(sealed, flip);
          expect(nodeSymmetricBackend.aeadOpen(suite, key, nonce, tampered, aad)).toBeUndefined();
          expect(nobleBackend.aeadOpen(suite, key, nonce, tampered, aad)).toBeUndefined();
        },
      ),
      { numRuns: 300 },
    );
  });
});
