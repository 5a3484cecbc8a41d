/**
 * Protocol constants: version, message type registry, suites, sizes, limits and the
 * domain-separation labels. Every number that appears on the wire has a name here.
 * @module
 */

/**
 * Wire version of every message defined in docs/protocol.md. Version 2 shrank the join and the
 * grant (compact signatures, times in seconds, device tag, nonce hint); a version-1 message is
 * `E_MALFORMED` (unknown version), never negotiated.
 */
export const PROTOCOL_VERSION = 2;

/**
 * Message type registry (byte 1 of every message). Ranges leave room to grow:
 * 0x01–0x0f join, 0x10–0x1f grant, 0x20–0x2f channel. The post-quantum hybrid join
 * reuses the join types with its own {@link JoinSuite}.
 */
export const MessageType = {
  JOIN_CHALLENGE: 0x01,
  JOIN_REQUEST: 0x02,
  JOIN_RESPONSE: 0x03,
  SESSION_REQUEST: 0x10,
  GRANT_REQUEST: 0x11,
  GRANT: 0x12,
  GRANT_WARNING: 0x13,
  /** Channel frame sent by the initiator (M1) to the responder (M2). */
  FRAME_I2R: 0x20,
  /** Channel frame sent by the responder (M2) to the initiator (M1). */
  FRAME_R2I: 0x21,
} as const;
/** A registered message type code. */
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/**
 * Key-agreement suites for the join (docs/protocol.md § Join suites). Signatures are ECDSA
 * secp256k1 in both; the hybrid adds an ML-KEM-768 (FIPS 203) encapsulation to the ECDH.
 */
export const JoinSuite = {
  /** Ephemeral secp256k1 ECDH + HKDF-SHA256: the version-0.1 join, byte for byte. */
  SECP256K1_ECDH_HKDF_SHA256: 1,
  /** Ephemeral secp256k1 ECDH and ML-KEM-768 to an ephemeral key, combined by HKDF-SHA256. */
  MLKEM768_SECP256K1_HKDF_SHA256: 2,
} as const;
/** A join suite code. */
export type JoinSuite = (typeof JoinSuite)[keyof typeof JoinSuite];

/** AEAD suites for grants and the channel. */
export const AeadSuite = {
  AES_256_GCM: 1,
  CHACHA20_POLY1305: 2,
} as const;
/** An AEAD suite code. */
export type AeadSuite = (typeof AeadSuite)[keyof typeof AeadSuite];

/** True when `v` is a registered AEAD suite. */
export function isAeadSuite(v: number): v is AeadSuite {
  return v === AeadSuite.AES_256_GCM || v === AeadSuite.CHACHA20_POLY1305;
}

/** Member roles in a session; also the direction byte in the channel key schedule. */
export const Role = {
  INITIATOR: 1,
  RESPONDER: 2,
} as const;
/** A session role. */
export type Role = (typeof Role)[keyof typeof Role];

/** Field sizes in bytes. */
export const Size = {
  HEADER: 2,
  CLUSTER_ID: 4,
  DEVICE_ID: 32,
  DEVICE_TAG: 16,
  ADDRESS: 20,
  SECRET_KEY: 32,
  PUBLIC_KEY: 33,
  /** Recoverable ECDSA signature r || s || recovery (enrollment proofs). */
  SIGNATURE: 65,
  /** Compact ECDSA signature r || yParityAndS (EIP-2098), the join's signatures. */
  COMPACT_SIGNATURE: 64,
  CHALLENGE: 16,
  COORD: 4,
  KID: 4,
  /** u64 unix milliseconds (GrantWarning, HeadNotice). */
  TIME: 8,
  /** u32 unix seconds, up to 2106-02-07 (JoinResponse, SessionRequest, Grant). */
  TIME_S: 4,
  NONCE: 16,
  /** First bytes of a member's nonce, echoed in its Grant to find the pending entry. */
  NONCE_HINT: 4,
  MAC: 16,
  MEMBER_KEY: 32,
  SESSION_KEY: 32,
  SESSION_ID: 8,
  SHORT_SESSION_ID: 4,
  SEQ: 8,
  AEAD_KEY: 32,
  AEAD_NONCE: 12,
  TAG: 16,
  HASH: 32,
  /** Join-suite offer: one bit per suite (bit s − 1 for suite s). */
  OFFER: 1,
  /** ML-KEM-768 encapsulation key ek (FIPS 203 Table 3). */
  KEM_PUBLIC_KEY: 1184,
  /** ML-KEM-768 decapsulation key dk (FIPS 203 Table 3); never leaves the device. */
  KEM_SECRET_KEY: 2400,
  /** ML-KEM-768 ciphertext c (FIPS 203 Table 3). */
  KEM_CIPHERTEXT: 1088,
  /** ML-KEM shared secret K. */
  KEM_SHARED_SECRET: 32,
  /** ML-KEM key-generation seed d || z (FIPS 203 Algorithm 16). */
  KEM_SEED: 64,
  /** ML-KEM encapsulation randomness m (FIPS 203 Algorithm 17). */
  KEM_MESSAGE: 32,
} as const;

/** Exact message sizes (fixed-length messages only); docs/protocol.md § Wire budget accounts for each byte. */
export const MessageSize = {
  JOIN_CHALLENGE: 2 + 16, // 18
  JOIN_REQUEST: 2 + 1 + 16 + 16 + 4 + 4 + 33 + 64, // 140
  JOIN_RESPONSE: 2 + 1 + 4 + 4 + 33 + 64, // 108
  /** JoinRequest of the hybrid suite: the classic fields plus the offer byte and ML-KEM ek. */
  JOIN_REQUEST_HYBRID: 2 + 1 + 1 + 16 + 16 + 4 + 4 + 33 + 1184 + 64, // 1325
  /** JoinResponse of the hybrid suite: the classic fields plus the ML-KEM ciphertext. */
  JOIN_RESPONSE_HYBRID: 2 + 1 + 4 + 4 + 33 + 1088 + 64, // 1196
  SESSION_REQUEST: 2 + 1 + 4 + 16 + 4 + 16, // 43
  GRANT_REQUEST: 2 + 4 + 16 + 16 + 43, // 81
  GRANT: 2 + 1 + 1 + 8 + 4 + 4 + 4 + 32 + 16, // 72
  GRANT_WARNING: 2 + 1 + 16 + 8 + 16, // 43
  FRAME_HEADER: 2 + 1 + 4 + 8, // 15
} as const;

/** Channel frame overhead: header plus tag. */
export const FRAME_OVERHEAD = MessageSize.FRAME_HEADER + Size.TAG;

/** Largest plaintext one frame may carry (keeps frames within one MQTT packet comfortably). */
export const MAX_FRAME_PLAINTEXT = 65_536;

/** Sequence numbers are < this; a key is retired after 2^32 frames per direction. */
export const MAX_MESSAGES_PER_KEY = 2n ** 32n;

/** Replay window size in frames (RFC 8613 §7.4 style sliding window). */
export const REPLAY_WINDOW = 64;

/** Defaults (milliseconds unless noted). */
export const Defaults = {
  CHALLENGE_TTL_MS: 30_000,
  MEMBERSHIP_TTL_MS: 24 * 60 * 60 * 1000,
  SESSION_TTL_MS: 60 * 60 * 1000,
  /** Allowed clock difference between a SessionRequest timestamp and the verifier. */
  MAX_SKEW_MS: 30_000,
  /** OSCORE Appendix B.1 persistence interval K. */
  SEQUENCE_BLOCK: 1024n,
} as const;

/**
 * Domain-separation labels. Every signature, MAC, KDF and AEAD-AAD input starts with one,
 * so a value computed for one purpose is never valid for another.
 */
export const Label = {
  JOIN_REQUEST: "iotguard/v1/join-request",
  JOIN_RESPONSE: "iotguard/v1/join-response",
  MEMBER_KEY: "iotguard/v1/member-key",
  MAC_SESSION_REQUEST: "iotguard/v1/mac/session-request",
  MAC_GRANT_REQUEST: "iotguard/v1/mac/grant-request",
  MAC_GRANT_WARNING: "iotguard/v1/mac/grant-warning",
  GRANT_KEY: "iotguard/v1/grant-key",
  GRANT_AAD: "iotguard/v1/grant",
  GRANT_REPLAY: "iotguard/v1/grant-replay",
  DEVICE_TAG: "iotguard/v1/device-tag",
  CHANNEL_KEY: "iotguard/v1/channel-key",
  CHANNEL_IV: "iotguard/v1/channel-iv",
} as const;
