/**
 * What the collector does with each decrypted frame (docs/telemetry.md § Collector): the frame
 * came from a session the head granted (the device SDK opened it, so `from` is authenticated).
 * It is decoded and validated against the schema; a refusal is counted and logged without the
 * payload, answered to nobody and never stored, and the stream goes on.
 * @module
 */
import type { Logger } from "pino";
import type { MessageEvent } from "../../../device/sdk";
import { fromHex } from "../../../protocol";
import {
  decodeReadingBatch,
  isTelemetryError,
  peekTelemetryType,
  type ReadingBatch,
  TelemetryMessageType,
} from "../../../telemetry";
import type { CollectorMetrics } from "../metrics";
import type { BatchWriter } from "./batch-writer";

export class TelemetryIngest {
  constructor(
    private readonly writer: BatchWriter,
    private readonly metrics: CollectorMetrics,
    private readonly logger: Logger,
  ) {}

  /** Handles one `message` event of the collector's Device. Never throws. */
  onMessage(message: MessageEvent): void {
    const arrivedAt = performance.now();
    const where = { from: message.from, sessionId: message.sessionId, seq: message.seq.toString() };
    let batch: ReadingBatch;
    try {
      if (peekTelemetryType(message.data) !== TelemetryMessageType.READING_BATCH) {
        this.reject("unexpected_type", where);
        return;
      }
      batch = decodeReadingBatch(message.data);
    } catch (error) {
      if (!isTelemetryError(error)) throw error;
      this.reject(error.code, { ...where, ...(error.field ? { field: error.field } : {}) });
      return;
    }
    const deviceId = fromHex(message.from);
    const sessionId = fromHex(message.sessionId);
    const accepted = this.writer.add({
      deviceId,
      deviceIdHex: message.from,
      streamId: batch.streamId,
      arrivedAt,
      readings: batch.readings.map((r, i) => ({
        ...r,
        deviceId,
        streamId: batch.streamId,
        index: batch.firstIndex + i,
        sessionId,
        frameSeq: message.seq,
      })),
    });
    if (!accepted) this.reject("backpressure", where, "debug");
  }

  private reject(reason: string, where: Record<string, string>, level: "info" | "debug" = "info"): void {
    this.metrics.rejected.inc({ reason });
    // Where it came from and why; never the payload.
    this.logger[level]({ ...where, reason }, "telemetry frame refused");
  }
}
