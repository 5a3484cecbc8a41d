/**
 * The membership: the core state a join establishes and both sides keep.
 * @module
 */

/** A member key established by a join; stored by both sides. */
export interface Membership {
  deviceId: Uint8Array;
  /** 4-byte key id. */
  kid: Uint8Array;
  /** 32-byte K_m; secret. */
  memberKey: Uint8Array;
  /** unix ms. */
  expiresAt: number;
}
