/**
 * Telemetry wire constants (docs/telemetry.md § Wire format). Telemetry messages travel as the
 * plaintext of channel frames, so the channel already gives confidentiality, integrity, the sender's
 * identity and replay protection; these bytes only need to be compact and strictly parsed.
 * @module
 */

/** Format version: byte 0 of every telemetry message. */
export const TELEMETRY_VERSION = 1;

/**
 * Telemetry message types (byte 1). Kept apart from the protocol's message types (0x01–0x2f) so a
 * telemetry payload is never mistaken for a protocol message in a log or a capture.
 */
export const TelemetryMessageType = {
  /** Device → collector: consecutive readings of one stream. */
  READING_BATCH: 0x30,
  /** Collector → device: every reading of the stream below `nextIndex` is committed. */
  ACK: 0x31,
} as const;
/** A telemetry message type code. */
export type TelemetryMessageType = (typeof TelemetryMessageType)[keyof typeof TelemetryMessageType];

/** Field and message sizes in bytes. */
export const TelemetrySize = {
  HEADER: 2,
  /** Random per publishing run, chosen by the device. */
  STREAM_ID: 8,
  INDEX: 4,
  COUNT: 2,
  BASE_TIME: 8,
  /** A reading's time offset from the batch's base time. */
  TIME_OFFSET: 4,
  /** One reading on the wire: time offset plus the vitals (see READING_FIELDS). */
  READING: 4 + 1 + 1 + 1 + 1 + 2 + 1, // 11
  /** version, type, stream ID, first index, count, base time. */
  BATCH_HEADER: 2 + 8 + 4 + 2 + 8, // 24
  /** version, type, stream ID, next index. */
  ACK: 2 + 8 + 4, // 14
} as const;

/** Most readings one batch may carry (keeps a batch far below the channel's 64 KiB frame limit). */
export const MAX_READINGS_PER_BATCH = 1024;

/** Largest valid batch in bytes. */
export const MAX_BATCH_SIZE = TelemetrySize.BATCH_HEADER + MAX_READINGS_PER_BATCH * TelemetrySize.READING;

/**
 * Highest reading index. One below 2^32 − 1, so that `nextIndex` of an ack (last index + 1) still
 * fits its u32.
 */
export const MAX_READING_INDEX = 0xffff_fffe;

/** Largest time span inside one batch (the u32 offset), about 49.7 days. */
export const MAX_BATCH_TIME_SPAN_MS = 0xffff_ffff;
