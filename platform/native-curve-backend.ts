/**
 * libsecp256k1 (Bitcoin Core's curve library, through the `secp256k1` package's prebuilt N-API
 * binding) as the protocol's curve backend: byte-identical to @noble (RFC 6979 signatures, low-S),
 * 20–40× faster for key recovery and ECDH, which dominate a join on the head (bench/results).
 * Plug it in with `useNativeCurve()`; tests cross-check it against @noble and run Wycheproof
 * through it. The package falls back to a pure-JavaScript `elliptic` build when its binding does
 * not load; this module loads the binding itself and never uses that fallback.
 */
import { createRequire } from "node:module";
import type * as Secp256k1 from "secp256k1";
import type { CurveBackend } from "../protocol";

/** Thrown when the native binding cannot be loaded on this platform. */
export class NativeCurveUnavailableError extends Error {
  readonly code = "E_NATIVE_CURVE_UNAVAILABLE";
  constructor(cause: unknown) {
    super(`libsecp256k1 binding not available: ${(cause as Error).message}`);
    this.name = "NativeCurveUnavailableError";
  }
}

let binding: typeof Secp256k1 | undefined;

function native(): typeof Secp256k1 {
  if (binding === undefined) {
    try {
      // `secp256k1/bindings` is the N-API build only (no silent `elliptic` fallback).
      binding = createRequire(__filename)("secp256k1/bindings") as typeof Secp256k1;
    } catch (error) {
      throw new NativeCurveUnavailableError(error);
    }
  }
  return binding;
}

/** x-coordinate output of libsecp256k1's ECDH (its default hash would be SHA-256 of the point). */
function xOnly(x: Uint8Array): Uint8Array {
  return x.slice();
}

export function nativeCurveBackend(): CurveBackend {
  const lib = native();
  return {
    name: "libsecp256k1",
    signRecoverable: (digest, secretKey) => {
      // Default nonce function: RFC 6979 HMAC-SHA256, no extra data; libsecp256k1 signs low-S.
      const { signature, recid } = lib.ecdsaSign(digest, secretKey);
      const out = new Uint8Array(65);
      out.set(signature, 0);
      out[64] = recid;
      return out;
    },
    recoverPublicKey: (digest, signature) => {
      try {
        return lib.ecdsaRecover(signature.subarray(0, 64), signature[64] as number, digest, false);
      } catch {
        return undefined;
      }
    },
    ecdhX: (secretKey, peer) => {
      // The binding throws on a length it does not take and on a point it cannot parse.
      try {
        return lib.ecdh(peer, secretKey, { hashfn: xOnly }, new Uint8Array(32));
      } catch {
        return undefined;
      }
    },
    publicKey: (secretKey, compressed) => lib.publicKeyCreate(secretKey, compressed),
    convertPoint: (point, compressed) => {
      try {
        return lib.publicKeyConvert(point, compressed);
      } catch {
        return undefined;
      }
    },
  };
}
