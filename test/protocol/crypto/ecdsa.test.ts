import { secp256k1 } from "@noble/curves/secp256k1.js";
import { computeAddress, SigningKey } from "ethers";
import { describe, expect, it } from "vitest";
import { fromHex, toHex } from "../../../protocol/bytes";
import {
  fromCompactSignature,
  recoverAddress,
  recoverAddressCompact,
  signCompact,
  signLabelled,
  toCompactSignature,
  verifyCompact,
  verifyLabelled,
} from "../../../protocol/crypto/ecdsa";
import { sha256 } from "../../../protocol/crypto/hash";
import { identityFromSecretKey } from "../../../protocol/identity";
import { expectCode } from "../expect-code";

const N = secp256k1.Point.CURVE().n;
const sk = fromHex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318");
const body = new TextEncoder().encode("transcript");

describe("identity and recoverable signatures", () => {
  it("derives the Ethereum address of a key (cross-checked with ethers)", () => {
    const one = new Uint8Array(32);
    one[31] = 1;
    expect(toHex(identityFromSecretKey(one).address)).toBe("7e5f4552091a69125d5dfcb7b8c2659029395bdf");
    expect(`0x${toHex(identityFromSecretKey(sk).address)}`).toBe(
      computeAddress(`0x${toHex(sk)}`).toLowerCase(),
    );
  });

  it("signs SHA-256(label || body) as r || s || v, equal to ethers' RFC 6979 signature", () => {
    const sig = signLabelled(sk, "iotguard/v1/test", body);
    const ref = new SigningKey(`0x${toHex(sk)}`).sign(
      sha256(new TextEncoder().encode("iotguard/v1/test"), body),
    );
    expect(toHex(sig)).toBe(`${ref.r.slice(2)}${ref.s.slice(2)}0${ref.v - 27}`);
    expect(toHex(recoverAddress("iotguard/v1/test", body, sig))).toBe(
      toHex(identityFromSecretKey(sk).address),
    );
  });

  it("refuses another label (domain separation), high-S, bad v and out-of-range r/s", () => {
    const addr = identityFromSecretKey(sk).address;
    const sig = signLabelled(sk, "iotguard/v1/a", body);
    expect(() => verifyLabelled(addr, "iotguard/v1/a", body, sig)).not.toThrow();
    expectCode(() => verifyLabelled(addr, "iotguard/v1/b", body, sig), "E_BAD_SIGNATURE");
    // Malleated twin (r, n - s, v ^ 1) is a valid ECDSA signature but high-S: refused.
    const s = BigInt(`0x${toHex(sig.subarray(32, 64))}`);
    const twin = sig.slice();
    twin.set(fromHex((N - s).toString(16).padStart(64, "0")), 32);
    twin[64] = (sig[64] as number) ^ 1;
    expectCode(() => verifyLabelled(addr, "iotguard/v1/a", body, twin), "E_BAD_SIGNATURE");
    for (const v of [2, 27, 255]) {
      const bad = sig.slice();
      bad[64] = v;
      expectCode(() => recoverAddress("iotguard/v1/a", body, bad), "E_BAD_SIGNATURE");
    }
    const zeroR = sig.slice();
    zeroR.fill(0, 0, 32);
    expectCode(() => recoverAddress("iotguard/v1/a", body, zeroR), "E_BAD_SIGNATURE");
    const bigS = sig.slice();
    bigS.fill(0xff, 32, 64);
    expectCode(() => recoverAddress("iotguard/v1/a", body, bigS), "E_BAD_SIGNATURE");
  });

  it("compact signatures (EIP-2098): r || (v << 255 | s), 64 bytes, lossless for low-S", () => {
    const addr = identityFromSecretKey(sk).address;
    for (const label of ["iotguard/v1/a", "iotguard/v1/b", "iotguard/v1/c", "iotguard/v1/d"]) {
      const full = signLabelled(sk, label, body);
      const compact = signCompact(sk, label, body);
      expect(compact.length).toBe(64);
      expect(toHex(compact.subarray(0, 32))).toBe(toHex(full.subarray(0, 32)));
      expect((compact[32] as number) >> 7).toBe(full[64]);
      expect(toHex(fromCompactSignature(compact))).toBe(toHex(full));
      expect(toHex(toCompactSignature(full))).toBe(toHex(compact));
      expect(() => verifyCompact(addr, label, body, compact)).not.toThrow();
      expectCode(() => verifyCompact(addr, `${label}x`, body, compact), "E_BAD_SIGNATURE");
      // The other recovery bit recovers another key.
      const otherV = compact.slice();
      otherV[32] = (otherV[32] as number) ^ 0x80;
      expectCode(() => verifyCompact(addr, label, body, otherV), "E_BAD_SIGNATURE");
    }
  });

  it("compact: high-S (s in (n/2, 2^255)) and zero r are refused; a high-S or bad-v signature cannot be compacted", () => {
    const sig = signLabelled(sk, "iotguard/v1/a", body);
    const s = BigInt(`0x${toHex(sig.subarray(32, 64))}`);
    const high = sig.slice();
    high.set(fromHex((N - s).toString(16).padStart(64, "0")), 32);
    expect(() => toCompactSignature(high)).toThrow(RangeError);
    const badV = sig.slice();
    badV[64] = 27;
    expect(() => toCompactSignature(badV)).toThrow(RangeError);
    // s = n/2 + 1 < 2^255 fits below the parity bit: the decoder must still refuse it as high-S.
    const compactHigh = sig.slice(0, 64);
    compactHigh.set(fromHex(((N >> 1n) + 1n).toString(16).padStart(64, "0")), 32);
    expect((compactHigh[32] as number) >> 7).toBe(0);
    expectCode(() => recoverAddressCompact("iotguard/v1/a", body, compactHigh), "E_BAD_SIGNATURE");
    const zeroR = signCompact(sk, "iotguard/v1/a", body);
    zeroR.fill(0, 0, 32);
    expectCode(() => recoverAddressCompact("iotguard/v1/a", body, zeroR), "E_BAD_SIGNATURE");
  });
});
