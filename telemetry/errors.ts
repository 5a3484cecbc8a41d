/**
 * Typed telemetry errors with stable codes (docs/telemetry.md § Errors).
 * Messages are short, fixed English strings naming the field; they never contain a reading's value
 * or any input bytes, so a refusal can be logged without leaking a patient's data.
 * @module
 */

/** Stable telemetry error codes. */
export const TELEMETRY_ERROR_CODES = [
  /** Truncated, wrong header fields, inconsistent count, trailing bytes, or not canonical. */
  "E_TELEMETRY_MALFORMED",
  /** Unknown format version or message type. */
  "E_TELEMETRY_UNSUPPORTED",
  /** More readings (or bytes) in one batch than the format allows. */
  "E_TELEMETRY_TOO_LARGE",
  /** A field outside its documented range (docs/telemetry.md § Fields). */
  "E_TELEMETRY_OUT_OF_RANGE",
] as const;

/** One of the telemetry error codes. */
export type TelemetryErrorCode = (typeof TELEMETRY_ERROR_CODES)[number];

/**
 * Refusal of a telemetry message or reading.
 * @example
 * try { decodeReadingBatch(bytes) } catch (e) { if (isTelemetryError(e)) metrics.rejected(e.code) }
 */
export class TelemetryError extends Error {
  /**
   * @param code - stable code
   * @param message - fixed text naming the field; never a value
   * @param field - the reading field at fault, when one is
   */
  constructor(
    readonly code: TelemetryErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(`${code}: ${message}`);
    this.name = "TelemetryError";
  }
}

/** True when `e` is a TelemetryError, optionally with the given code. */
export function isTelemetryError(e: unknown, code?: TelemetryErrorCode): e is TelemetryError {
  return e instanceof TelemetryError && (code === undefined || e.code === code);
}
