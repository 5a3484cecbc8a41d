/**
 * iotguard telemetry: the reading schema and its compact wire format (docs/telemetry.md).
 * Pure: bytes in, typed values out; no I/O. Telemetry messages are the plaintext of channel frames.
 * @module
 */
export { type Ack, decodeAck, encodeAck } from "./ack";
export {
  MAX_BATCH_SIZE,
  MAX_BATCH_TIME_SPAN_MS,
  MAX_READING_INDEX,
  MAX_READINGS_PER_BATCH,
  TELEMETRY_VERSION,
  TelemetryMessageType,
  TelemetrySize,
} from "./constants";
export { isTelemetryError, TELEMETRY_ERROR_CODES, TelemetryError, type TelemetryErrorCode } from "./errors";
export {
  type FieldSpec,
  fieldSpec,
  MAX_DEVICE_TIME_MS,
  MIN_DEVICE_TIME_MS,
  READING_FIELDS,
  type Reading,
  type ReadingField,
  validateReading,
} from "./fields";
export { peekTelemetryType } from "./header";
export { decodeReadingBatch, encodeReadingBatch, type ReadingBatch, readingBatchSize } from "./reading-batch";
