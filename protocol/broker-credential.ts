/**
 * The MQTT broker credential of a member, derived from its member key K_m: both the head and the
 * device compute it, so it never travels anywhere but in the device's own CONNECT. It lives exactly
 * as long as the membership (a new join gives a new K_m and so a new credential).
 * @module
 */
import { abytes, toHex } from "./bytes";
import { Size } from "./constants";
import { deriveKey } from "./crypto/kdf";
import type { Membership } from "./membership";

/** Domain label of the broker credential derivation. */
export const BROKER_CREDENTIAL_LABEL = "iotguard/v1/broker-credential";

/** Length of the derived password in bytes (sent as 64 hex characters). */
export const BROKER_PASSWORD_BYTES = 32;

/**
 * The broker password of `membership`, as lowercase hex: HKDF-SHA256(K_m, salt = kid,
 * info = label || deviceId). Username is the device ID in hex.
 */
export function brokerPassword(membership: Pick<Membership, "memberKey" | "kid" | "deviceId">): string {
  abytes(membership.memberKey, Size.MEMBER_KEY, "memberKey");
  abytes(membership.deviceId, Size.DEVICE_ID, "deviceId");
  const key = deriveKey(
    membership.memberKey,
    membership.kid,
    BROKER_CREDENTIAL_LABEL,
    membership.deviceId,
    BROKER_PASSWORD_BYTES,
  );
  const hex = toHex(key);
  key.fill(0);
  return hex;
}
