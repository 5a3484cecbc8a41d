/** Prometheus metrics of one collector (its own registry, so two collectors in one process stay apart). */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export interface CollectorMetrics {
  registry: Registry;
  /** Rows that were new in the database. */
  stored: Counter;
  /** Readings received again and already stored (re-sent after a lost ack or a restart). */
  duplicates: Counter;
  /** Frames refused before storage, by reason (a telemetry error code, `unexpected_type`, `backpressure`). */
  rejected: Counter<"reason">;
  /** Readings per committed transaction. */
  batchSize: Histogram;
  /** Seconds from a frame's arrival to the ack that covers it. */
  ackLag: Histogram;
  /** Failed flushes (database errors); each is retried. */
  storageErrors: Counter;
  /** Readings waiting for the database. */
  buffered: Gauge;
  /** 1 while the database accepts writes. */
  databaseUp: Gauge;
  /** Channel frames the device SDK refused (no session, bad tag, replay), read from its counters. */
  framesRefused: Gauge;
}

export function createMetrics(
  options: { defaultMetrics?: boolean; sdkRefused?: () => number } = {},
): CollectorMetrics {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const sdkRefused = options.sdkRefused;
  return {
    registry,
    stored: new Counter({
      name: "iotguard_collector_readings_stored_total",
      help: "readings stored (new rows)",
      registers,
    }),
    duplicates: new Counter({
      name: "iotguard_collector_readings_duplicate_total",
      help: "readings received again that were already stored",
      registers,
    }),
    rejected: new Counter({
      name: "iotguard_collector_frames_rejected_total",
      help: "telemetry frames refused before storage, by reason",
      labelNames: ["reason"],
      registers,
    }),
    batchSize: new Histogram({
      name: "iotguard_collector_batch_readings",
      help: "readings per committed database transaction",
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000],
      registers,
    }),
    ackLag: new Histogram({
      name: "iotguard_collector_ack_lag_seconds",
      help: "seconds from a frame's arrival to the ack covering it",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60],
      registers,
    }),
    storageErrors: new Counter({
      name: "iotguard_collector_storage_errors_total",
      help: "database writes that failed (and are retried)",
      registers,
    }),
    buffered: new Gauge({
      name: "iotguard_collector_buffered_readings",
      help: "readings waiting for the database",
      registers,
    }),
    databaseUp: new Gauge({
      name: "iotguard_collector_database_up",
      help: "1 while the database accepts writes",
      registers,
    }),
    framesRefused: new Gauge({
      name: "iotguard_collector_channel_frames_refused",
      help: "channel frames the device SDK refused (no granted session, bad tag, malformed)",
      registers,
      ...(sdkRefused
        ? {
            collect(this: Gauge) {
              this.set(sdkRefused());
            },
          }
        : {}),
    }),
  };
}
