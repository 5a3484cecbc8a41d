/**
 * The two header bytes every telemetry message starts with, and the shared input checks.
 * @module
 */
import { TELEMETRY_VERSION, TelemetryMessageType, TelemetrySize } from "./constants";
import { TelemetryError } from "./errors";

const KNOWN_TYPES: readonly number[] = Object.values(TelemetryMessageType);

/**
 * The type of a telemetry message, after checking its version and that the type is known.
 * Lets a receiver dispatch before decoding.
 * @throws TelemetryError E_TELEMETRY_MALFORMED when shorter than the header;
 *   E_TELEMETRY_UNSUPPORTED on an unknown version or type
 */
export function peekTelemetryType(bytes: Uint8Array): TelemetryMessageType {
  if (!(bytes instanceof Uint8Array)) throw new TelemetryError("E_TELEMETRY_MALFORMED", "not bytes");
  if (bytes.length < TelemetrySize.HEADER)
    throw new TelemetryError("E_TELEMETRY_MALFORMED", "truncated header");
  if (bytes[0] !== TELEMETRY_VERSION)
    throw new TelemetryError("E_TELEMETRY_UNSUPPORTED", "unknown telemetry version");
  const type = bytes[1] as number;
  if (!KNOWN_TYPES.includes(type))
    throw new TelemetryError("E_TELEMETRY_UNSUPPORTED", "unknown message type");
  return type as TelemetryMessageType;
}

/**
 * Check the header is the expected type.
 * @throws TelemetryError as {@link peekTelemetryType}, or E_TELEMETRY_MALFORMED for another type
 */
export function expectType(bytes: Uint8Array, type: TelemetryMessageType): void {
  if (peekTelemetryType(bytes) !== type)
    throw new TelemetryError("E_TELEMETRY_MALFORMED", "wrong message type");
}

/** A DataView over exactly the given bytes. */
export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Argument check for a stream ID (a programming error when wrong). */
export function checkStreamId(streamId: Uint8Array): void {
  if (!(streamId instanceof Uint8Array) || streamId.length !== TelemetrySize.STREAM_ID)
    throw new TypeError(`streamId: expected ${TelemetrySize.STREAM_ID} bytes`);
}
