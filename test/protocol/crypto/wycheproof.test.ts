/**
 * Wycheproof vectors (C2SP/wycheproof testvectors_v1) through OUR wrappers.
 * The files live beside the repository in ../shared/vectors/wycheproof and are never copied in.
 * A missing file fails the suite with its path (no silent skip).
 */
import { existsSync, readFileSync } from "node:fs";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nativeCurveBackend } from "../../../platform/native-curve-backend";
import { nodeSymmetricBackend } from "../../../platform/node-symmetric-backend";
import { sodiumSymmetricBackend } from "../../../platform/sodium-symmetric-backend";
import { fromHex, toHex } from "../../../protocol/bytes";
import { AeadSuite } from "../../../protocol/constants";
import { aeadOpen, aeadSeal, aeadSealInto } from "../../../protocol/crypto/aead";
import { nobleBackend, type SymmetricBackend, useSymmetricBackend } from "../../../protocol/crypto/backend";
import {
  type CurveBackend,
  nobleCurveBackend,
  useCurveBackend,
} from "../../../protocol/crypto/curve-backend";
import { ecdhSharedX, parseSpkiPublicKey } from "../../../protocol/crypto/ecdh";
import { verifyDer } from "../../../protocol/crypto/ecdsa";
import { sha256 } from "../../../protocol/crypto/hash";
import { kemDecapsulate, kemKeyPairFromSeed } from "../../../protocol/crypto/kem";
import { hkdfSha256 } from "../../../protocol/crypto/kdf";
import { isProtocolError } from "../../../protocol/errors";

const DIR = path.resolve(__dirname, "../../../../shared/vectors/wycheproof");

interface Test {
  tcId: number;
  result: "valid" | "invalid" | "acceptable";
  flags: string[];
  [k: string]: unknown;
}
interface Group {
  tests: Test[];
  [k: string]: unknown;
}

function load(name: string): Group[] {
  const file = path.join(DIR, name);
  if (!existsSync(file)) throw new Error(`Wycheproof vector file missing: ${file}`);
  const groups = (JSON.parse(readFileSync(file, "utf8")) as { testGroups: Group[] }).testGroups;
  expect(groups.length).toBeGreaterThan(0);
  return groups;
}

const h = (t: Test, k: string) => fromHex(t[k] as string);

function refuses(f: () => unknown): boolean {
  try {
    f();
    return false;
  } catch {
    return true;
  }
}

function aeadCases(file: string, suite: AeadSuite, groupFilter: (g: Group) => boolean) {
  const groups = load(file).filter(groupFilter);
  let valid = 0;
  let invalid = 0;
  for (const g of groups) {
    for (const t of g.tests) {
      const [key, iv, aad, msg] = [h(t, "key"), h(t, "iv"), h(t, "aad"), h(t, "msg")];
      const sealed = fromHex((t.ct as string) + (t.tag as string));
      if (t.result === "valid") {
        expect(toHex(aeadSeal(suite, key, iv, msg, aad)), `tcId ${t.tcId}`).toBe(toHex(sealed));
        const into = new Uint8Array(sealed.length);
        aeadSealInto(suite, key, iv, msg, aad, into);
        expect(toHex(into), `tcId ${t.tcId} (into)`).toBe(toHex(sealed));
        expect(toHex(aeadOpen(suite, key, iv, sealed, aad)), `tcId ${t.tcId}`).toBe(toHex(msg));
        valid++;
      } else {
        expect(t.result).toBe("invalid");
        expect(
          refuses(() => aeadOpen(suite, key, iv, sealed, aad)),
          `tcId ${t.tcId}`,
        ).toBe(true);
        invalid++;
      }
    }
  }
  return { valid, invalid };
}

// Every symmetric backend the product can run on goes through the same vectors.
const SYMMETRIC = [nobleBackend, nodeSymmetricBackend, sodiumSymmetricBackend()];
describe.each(SYMMETRIC)("Wycheproof with the $name backend", (backend) => {
  let previous: SymmetricBackend;
  beforeAll(() => {
    previous = useSymmetricBackend(backend);
  });
  afterAll(() => {
    useSymmetricBackend(previous);
  });

  it("AES-GCM (keySize 128/256, ivSize 96, tagSize 128) through aeadSeal/aeadOpen", () => {
    const n = aeadCases(
      "aes_gcm_test.json",
      AeadSuite.AES_256_GCM,
      (g) => (g.keySize === 128 || g.keySize === 256) && g.ivSize === 96 && g.tagSize === 128,
    );
    expect(n.valid).toBeGreaterThan(50);
    expect(n.invalid).toBeGreaterThan(10);
    console.info(`[wycheproof] AES-GCM valid=${n.valid} invalid=${n.invalid}`);
  });

  it("ChaCha20-Poly1305 (all groups; non-96-bit IVs must be refused)", () => {
    const n = aeadCases("chacha20_poly1305_test.json", AeadSuite.CHACHA20_POLY1305, () => true);
    expect(n.valid).toBeGreaterThan(50);
    console.info(`[wycheproof] ChaCha20-Poly1305 valid=${n.valid} invalid=${n.invalid}`);
  });

  it("HKDF-SHA256 through hkdfSha256", () => {
    let valid = 0;
    let invalid = 0;
    for (const g of load("hkdf_sha256_test.json")) {
      for (const t of g.tests) {
        const run = () => hkdfSha256(h(t, "ikm"), h(t, "salt"), h(t, "info"), t.size as number);
        if (t.result === "valid") {
          expect(toHex(run()), `tcId ${t.tcId}`).toBe(t.okm);
          valid++;
        } else {
          expect(refuses(run), `tcId ${t.tcId}`).toBe(true);
          invalid++;
        }
      }
    }
    expect(valid).toBeGreaterThan(50);
    expect(invalid).toBeGreaterThan(0);
    console.info(`[wycheproof] HKDF valid=${valid} invalid=${invalid}`);
  });

  it("ECDSA secp256k1 SHA-256 DER through verifyDer (high-S only with allowHighS)", () => {
    let valid = 0;
    let invalid = 0;
    let highS = 0;
    for (const g of load("ecdsa_secp256k1_sha256_test.json")) {
      const pub = fromHex((g.publicKey as { uncompressed: string }).uncompressed);
      for (const t of g.tests) {
        const [sig, msg] = [h(t, "sig"), h(t, "msg")];
        const lenient = verifyDer(sig, msg, pub, { allowHighS: true });
        const strict = verifyDer(sig, msg, pub);
        if (t.result === "valid") {
          expect(lenient, `tcId ${t.tcId}`).toBe(true);
          // Our protocol policy: a valid high-S signature is refused by default.
          if (!strict) highS++;
          valid++;
        } else {
          // No `acceptable` cases in this file; if one appears, it must be refused (strict DER).
          expect(lenient, `tcId ${t.tcId} (${t.result})`).toBe(false);
          expect(strict, `tcId ${t.tcId} (${t.result})`).toBe(false);
          invalid++;
        }
      }
    }
    expect(valid).toBeGreaterThan(100);
    expect(highS).toBeGreaterThan(0);
    console.info(
      `[wycheproof] ECDSA valid=${valid} (high-S refused by default: ${highS}) invalid=${invalid}`,
    );
  });

  it("fails loudly when a vector file is missing", () => {
    expect(() => load("no_such_file.json")).toThrow(/Wycheproof vector file missing: .*no_such_file\.json/);
  });
});

// Every curve backend the product can run on goes through the same ECDH vectors, and through the
// ECDSA ones by key recovery (the protocol's signatures are recoverable; the vectors are DER).
describe.each([nobleCurveBackend, nativeCurveBackend()])(
  "Wycheproof with the $name curve backend",
  (backend) => {
    let previous: CurveBackend;
    beforeAll(() => {
      previous = useCurveBackend(backend);
    });
    afterAll(() => {
      useCurveBackend(previous);
    });

    it("ECDH secp256k1 (SPKI public keys) through parseSpkiPublicKey + ecdhSharedX", () => {
      const counts = { valid: 0, invalid: 0, acceptableAccepted: 0, acceptableRefused: 0 };
      for (const g of load("ecdh_secp256k1_test.json")) {
        for (const t of g.tests) {
          let priv = h(t, "private");
          // Wycheproof private keys are minimal big-endian integers: normalise to 32 bytes.
          while (priv.length > 32 && priv[0] === 0) priv = priv.subarray(1);
          const padded = new Uint8Array(32);
          padded.set(priv, 32 - priv.length);
          let shared: string | undefined;
          try {
            shared = toHex(ecdhSharedX(padded, parseSpkiPublicKey(h(t, "public"))));
          } catch {
            shared = undefined;
          }
          if (t.result === "valid") {
            expect(shared, `tcId ${t.tcId}`).toBe(t.shared);
            counts.valid++;
          } else if (t.result === "invalid") {
            expect(shared, `tcId ${t.tcId}`).toBeUndefined();
            counts.invalid++;
          } else {
            // Decision: accept only the exact DER SPKI with the named curve, uncompressed or
            // compressed point (we use compressed keys on the wire); refuse every other encoding.
            const compressed = t.flags.includes("CompressedPublic") || t.flags.includes("CompressedPoint");
            if (compressed) {
              expect(shared, `tcId ${t.tcId}`).toBe(t.shared);
              counts.acceptableAccepted++;
            } else {
              expect(shared, `tcId ${t.tcId} ${t.flags.join(",")}`).toBeUndefined();
              counts.acceptableRefused++;
            }
          }
        }
      }
      expect(counts.valid).toBeGreaterThan(100);
      console.info(`[wycheproof] ECDH ${JSON.stringify(counts)}`);
    });

    it("ECDSA secp256k1 SHA-256: every valid low-S signature recovers its public key (one of recovery 0/1)", () => {
      let recovered = 0;
      for (const g of load("ecdsa_secp256k1_sha256_test.json")) {
        const pub = toHex(fromHex((g.publicKey as { uncompressed: string }).uncompressed));
        for (const t of g.tests) {
          if (t.result !== "valid") continue;
          const [sig, msg] = [h(t, "sig"), h(t, "msg")];
          const parsed = secp256k1.Signature.fromBytes(sig, "der");
          if (parsed.hasHighS()) continue;
          const compact = parsed.toBytes("compact");
          const keys = [0, 1].map((recovery) => {
            const rs = new Uint8Array(65);
            rs.set(compact, 0);
            rs[64] = recovery;
            const key = backend.recoverPublicKey(sha256(msg), rs);
            return key === undefined ? undefined : toHex(key);
          });
          expect(keys, `tcId ${t.tcId}`).toContain(pub);
          recovered++;
        }
      }
      expect(recovered).toBeGreaterThan(50);
      console.info(`[wycheproof] ECDSA recovery (${backend.name}) recovered=${recovered}`);
    });
  },
);

// ML-KEM does not use the symmetric backend (SHA-3 and SHAKE come with the ML-KEM library): once.
describe("Wycheproof ML-KEM-768 (FIPS 203)", () => {
  it("key generation from seed and decapsulation through kemKeyPairFromSeed + kemDecapsulate", () => {
    const counts = { valid: 0, invalid: 0, strcmp: 0 };
    for (const g of load("mlkem_768_test.json")) {
      expect(g.parameterSet).toBe("ML-KEM-768");
      for (const t of g.tests) {
        const run = () => {
          const kp = kemKeyPairFromSeed(h(t, "seed"));
          return { ek: toHex(kp.publicKey), k: toHex(kemDecapsulate(h(t, "c"), kp.secretKey)) };
        };
        if (t.result === "valid") {
          // Every valid case names the expected encapsulation key and shared secret.
          expect(run(), `tcId ${t.tcId}`).toEqual({ ek: t.ek, k: t.K });
          if (t.flags.includes("Strcmp")) counts.strcmp++;
          counts.valid++;
        } else {
          // invalid: a seed (d || z) or ciphertext of the wrong length. No `acceptable` cases.
          expect(t.result, `tcId ${t.tcId}`).toBe("invalid");
          let error: unknown;
          try {
            run();
          } catch (e) {
            error = e;
          }
          // A peer's ciphertext is refused with the protocol's code; our own seed is a programming error.
          if (/ciphertext/i.test(t.comment as string))
            expect(isProtocolError(error, "E_MALFORMED"), `tcId ${t.tcId} (${t.comment as string})`).toBe(
              true,
            );
          else expect(error, `tcId ${t.tcId} (${t.comment as string})`).toBeInstanceOf(RangeError);
          counts.invalid++;
        }
      }
    }
    expect(counts.valid).toBeGreaterThan(100);
    expect(counts.invalid).toBeGreaterThan(30);
    expect(counts.strcmp).toBeGreaterThan(0);
    console.info(`[wycheproof] ML-KEM-768 ${JSON.stringify(counts)}`);
  });
});
