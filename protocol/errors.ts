/**
 * Typed protocol errors with stable codes.
 *
 * Every refusal the protocol core makes is a {@link ProtocolError} whose `code` is one of
 * {@link ERROR_CODES}. The numeric values are part of the wire format (a GrantWarning carries
 * one), so they never change meaning; new codes are appended.
 * Messages are short, fixed English strings: they never include key material or input bytes.
 * @module
 */

/** Stable error codes and their one-byte wire values (used in GrantWarning.reason). */
export const ERROR_CODES = {
  E_MALFORMED: 1,
  E_UNSUPPORTED: 2,
  E_BAD_SIGNATURE: 3,
  E_BAD_MAC: 4,
  E_BAD_TAG: 5,
  E_REPLAY: 6,
  E_EXPIRED: 7,
  E_NOT_MEMBER: 8,
  E_REVOKED: 9,
  E_WRONG_CLUSTER: 10,
  E_OUTSIDE_RADIUS: 11,
  E_UNKNOWN_CHALLENGE: 12,
  E_UNKNOWN_NONCE: 13,
  E_REFLECTION: 14,
  E_WRONG_SESSION: 15,
  E_WRONG_DIRECTION: 16,
  E_LIMIT: 17,
  E_BAD_STATE: 18,
  /** No join suite both sides accept: the head's policy refuses the offer, or the head chose one not offered. */
  E_SUITE_REFUSED: 19,
} as const;

/** One of the stable protocol error codes. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** All error codes, in wire-value order. */
export const ERROR_CODE_LIST: readonly ErrorCode[] = Object.keys(ERROR_CODES) as ErrorCode[];

/**
 * Error thrown by every protocol step that refuses its input.
 * @example
 * try { decodeFrame(bytes) } catch (e) { if (e instanceof ProtocolError && e.code === "E_MALFORMED") drop(); }
 */
export class ProtocolError extends Error {
  /** Stable machine-readable code. */
  readonly code: ErrorCode;

  /**
   * @param code - stable code from {@link ERROR_CODES}
   * @param message - short human text; must never contain secrets or raw input
   */
  constructor(code: ErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = "ProtocolError";
    this.code = code;
  }
}

/**
 * Map a one-byte wire value back to its code.
 * @param value - wire value from a GrantWarning
 * @returns the code, or undefined when the value is not registered
 */
export function errorCodeFromWire(value: number): ErrorCode | undefined {
  return ERROR_CODE_LIST.find((c) => ERROR_CODES[c] === value);
}

/**
 * True when `e` is a ProtocolError, optionally with the given code.
 * @param e - anything caught
 * @param code - optional code to match
 */
export function isProtocolError(e: unknown, code?: ErrorCode): e is ProtocolError {
  return e instanceof ProtocolError && (code === undefined || e.code === code);
}
