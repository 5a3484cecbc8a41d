/**
 * Ack codec (docs/telemetry.md § Ack): version (1) | type 0x31 (1) | stream ID (8) | next index (u32).
 * Cumulative: every reading of the stream with an index below `nextIndex` is committed in the
 * collector's database, so the device may drop them from its queue. An ack never covers a reading
 * that is not committed.
 * @module
 */
import { TELEMETRY_VERSION, TelemetryMessageType, TelemetrySize } from "./constants";
import { TelemetryError } from "./errors";
import { checkStreamId, expectType, viewOf } from "./header";

/** The collector's acknowledgement of one stream. */
export interface Ack {
  streamId: Uint8Array;
  /** Readings 0 … nextIndex − 1 of the stream are stored; 0 acknowledges nothing yet. */
  nextIndex: number;
}

/**
 * Encode an ack.
 * @throws RangeError when nextIndex is not a u32; TypeError on a bad stream ID
 */
export function encodeAck(ack: Ack): Uint8Array {
  checkStreamId(ack.streamId);
  if (!Number.isSafeInteger(ack.nextIndex) || ack.nextIndex < 0 || ack.nextIndex > 0xffff_ffff)
    throw new RangeError("nextIndex: expected integer in [0, 2^32 - 1]");
  const out = new Uint8Array(TelemetrySize.ACK);
  out[0] = TELEMETRY_VERSION;
  out[1] = TelemetryMessageType.ACK;
  out.set(ack.streamId, 2);
  viewOf(out).setUint32(10, ack.nextIndex);
  return out;
}

/**
 * Decode an ack; exactly 14 bytes.
 * @throws TelemetryError E_TELEMETRY_MALFORMED (length, type), E_TELEMETRY_UNSUPPORTED (version)
 */
export function decodeAck(bytes: Uint8Array): Ack {
  expectType(bytes, TelemetryMessageType.ACK);
  if (bytes.length !== TelemetrySize.ACK)
    throw new TelemetryError(
      "E_TELEMETRY_MALFORMED",
      bytes.length < TelemetrySize.ACK ? "truncated ack" : "trailing bytes",
    );
  return { streamId: bytes.slice(2, 10), nextIndex: viewOf(bytes).getUint32(10) };
}
