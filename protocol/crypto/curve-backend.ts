/**
 * The secp256k1 operations behind every wrapper (recoverable ECDSA, key recovery, ECDH, public
 * keys), behind one interface so a platform can plug in native curve code (the head uses
 * libsecp256k1: key recovery and ECDH are 20–40× faster than pure JavaScript, see bench/results)
 * without the protocol importing it. The default is @noble. Every backend must give byte-identical
 * results: signatures are deterministic (RFC 6979) and low-S, so tests compare the two directly
 * and run the Wycheproof vectors through each.
 *
 * Inputs are validated by the wrappers (lengths, scalar and signature ranges) before they get
 * here; a backend reports a point it cannot use as `undefined`, never by throwing.
 * @module
 */
import { secp256k1 } from "@noble/curves/secp256k1.js";

export interface CurveBackend {
  readonly name: string;
  /** 65-byte recoverable signature `r || s || recovery` over a 32-byte digest: RFC 6979 k, low-S. */
  signRecoverable(digest: Uint8Array, secretKey: Uint8Array): Uint8Array;
  /**
   * The 65-byte uncompressed key that signed `digest`; `signature` is `r || s || recovery` with
   * r, s in [1, n), s ≤ n/2 and recovery 0 or 1 (checked by the caller).
   * @returns undefined when no key recovers
   */
  recoverPublicKey(digest: Uint8Array, signature: Uint8Array): Uint8Array | undefined;
  /** x-coordinate of secretKey × peer; undefined when `peer` is not a valid SEC1 point. */
  ecdhX(secretKey: Uint8Array, peer: Uint8Array): Uint8Array | undefined;
  /** SEC1 public key of a valid scalar: 33 bytes compressed or 65 uncompressed. */
  publicKey(secretKey: Uint8Array, compressed: boolean): Uint8Array;
  /** Re-encodes a valid SEC1 point; undefined when the bytes are not a point on the curve. */
  convertPoint(point: Uint8Array, compressed: boolean): Uint8Array | undefined;
}

/** Pure-JavaScript curve arithmetic from @noble/curves (audited; runs anywhere). */
export const nobleCurveBackend: CurveBackend = {
  name: "noble",
  signRecoverable: (digest, secretKey) => {
    const recovered = secp256k1.sign(digest, secretKey, { prehash: false, lowS: true, format: "recovered" });
    // noble's "recovered" layout is recovery || r || s; the protocol's is r || s || recovery.
    const out = new Uint8Array(65);
    out.set(recovered.subarray(1, 65), 0);
    out[64] = recovered[0] as number;
    return out;
  },
  recoverPublicKey: (digest, signature) => {
    try {
      const recovered = new Uint8Array(65);
      recovered[0] = signature[64] as number;
      recovered.set(signature.subarray(0, 64), 1);
      return secp256k1.Signature.fromBytes(recovered, "recovered").recoverPublicKey(digest).toBytes(false);
    } catch {
      return undefined;
    }
  },
  ecdhX: (secretKey, peer) => {
    try {
      secp256k1.Point.fromBytes(peer).assertValidity();
      const shared = secp256k1.getSharedSecret(secretKey, peer, true);
      const x = shared.slice(1);
      shared.fill(0);
      return x;
    } catch {
      return undefined;
    }
  },
  publicKey: (secretKey, compressed) => secp256k1.getPublicKey(secretKey, compressed),
  convertPoint: (point, compressed) => {
    try {
      const p = secp256k1.Point.fromBytes(point);
      p.assertValidity();
      return p.toBytes(compressed);
    } catch {
      return undefined;
    }
  },
};

let active: CurveBackend = nobleCurveBackend;

/** The curve backend in use. */
export function curve(): CurveBackend {
  return active;
}

/**
 * Switches every curve wrapper to `backend` for this process (e.g. libsecp256k1 at start-up).
 * @returns the previous backend
 */
export function useCurveBackend(backend: CurveBackend): CurveBackend {
  const previous = active;
  active = backend;
  return previous;
}
