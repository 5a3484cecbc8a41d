/**
 * Proof of possession for enrollment and key rotation: the device key signs the cluster, its
 * device ID and its own address, so an operator cannot enroll a key nobody holds, and a proof made
 * for one device, cluster or purpose is worthless for another.
 * @module
 */
import { abytes } from "./bytes";
import { Writer } from "./writer";
import { Size } from "./constants";
import { signLabelled, verifyLabelled } from "./crypto/ecdsa";
import { assertClusterId } from "./identity";

/** Domain labels of the two proofs (distinct from every other signature of the protocol). */
export const EnrollmentLabel = {
  ENROLL: "iotguard/v1/enroll-proof",
  ROTATE: "iotguard/v1/rotate-proof",
} as const;

/** What a proof of possession binds. `keyVersion` is the version the key will have (0 at enrollment). */
export interface EnrollmentClaim {
  clusterId: number;
  deviceId: Uint8Array;
  keyAddress: Uint8Array;
  keyVersion: number;
}

function encodeClaim(claim: EnrollmentClaim): Uint8Array {
  abytes(claim.deviceId, Size.DEVICE_ID, "deviceId");
  abytes(claim.keyAddress, Size.ADDRESS, "keyAddress");
  if (!Number.isInteger(claim.keyVersion) || claim.keyVersion < 0 || claim.keyVersion > 0xffff) {
    throw new RangeError("keyVersion: expected uint16");
  }
  return new Writer()
    .u32(assertClusterId(claim.clusterId))
    .bytes(claim.deviceId)
    .bytes(claim.keyAddress)
    .u32(claim.keyVersion)
    .finish();
}

function labelFor(claim: EnrollmentClaim): string {
  return claim.keyVersion === 0 ? EnrollmentLabel.ENROLL : EnrollmentLabel.ROTATE;
}

/**
 * Signs a claim with the device's secret key.
 * @returns a 65-byte recoverable signature
 */
export function signEnrollmentProof(secretKey: Uint8Array, claim: EnrollmentClaim): Uint8Array {
  return signLabelled(secretKey, labelFor(claim), encodeClaim(claim));
}

/**
 * Checks that `proof` was made by the key at `claim.keyAddress` for exactly this claim.
 * @throws ProtocolError E_BAD_SIGNATURE otherwise (E_MALFORMED never: lengths are checked first)
 */
export function verifyEnrollmentProof(claim: EnrollmentClaim, proof: Uint8Array): void {
  verifyLabelled(claim.keyAddress, labelFor(claim), encodeClaim(claim), proof);
}
