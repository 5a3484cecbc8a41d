/**
 * `iotguard device publish --to <collector> --dataset FILE.csv [--rate N] [--loop]`
 * (docs/device.md § Publishing telemetry): replays a vitals data set to a collector as encrypted
 * reading batches over the device's session, re-sends what is not acknowledged, and prints a
 * summary. Exits non-zero when some reading was not acknowledged in time.
 */
import { randomBytes } from "node:crypto";
import { Command } from "commander";
import { type Device, DeviceError, type RotationPolicy } from "../../sdk";
import {
  decodeAck,
  isTelemetryError,
  MAX_READINGS_PER_BATCH,
  peekTelemetryType,
  TelemetryMessageType,
} from "../../../telemetry";
import { type CommonOptions, openDevice, print, withCommon } from "../context";
import { readDataset, replayReading } from "./publish-dataset";
import { progressPrinter } from "./publish-progress";
import { ReadingPublisher } from "./publish-queue";

interface PublishFlags extends CommonOptions {
  to: string;
  dataset: string;
  patient?: string;
  rate?: string;
  loop?: boolean;
  count?: string;
  batch: string;
  window: string;
  ackTimeout: string;
  timeout: string;
  rotateAfterMessages?: string;
  rotateAfterMs?: string;
  rotationDrainMs?: string;
  brokerUrl?: string;
  quiet?: boolean;
}

/** A positive integer flag (or undefined when absent). @throws DeviceError E_BAD_ARGUMENT */
function positive(flag: string, value: string | undefined, min = 1): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min)
    throw new DeviceError(
      "E_BAD_ARGUMENT",
      `${flag}: expected an integer ≥ ${min}, got ${JSON.stringify(value)}`,
    );
  return n;
}

/** The SDK rotation policy from the --rotate-* flags. */
export function rotationFlags(
  f: Pick<PublishFlags, "rotateAfterMessages" | "rotateAfterMs" | "rotationDrainMs">,
): RotationPolicy | undefined {
  const maxMessages = positive("--rotate-after-messages", f.rotateAfterMessages);
  const maxAgeMs = positive("--rotate-after-ms", f.rotateAfterMs);
  const drainMs = positive("--rotation-drain-ms", f.rotationDrainMs, 0);
  if (maxMessages === undefined && maxAgeMs === undefined && drainMs === undefined) return undefined;
  return {
    ...(maxMessages === undefined ? {} : { maxMessages: BigInt(maxMessages) }),
    ...(maxAgeMs === undefined ? {} : { maxAgeMs }),
    ...(drainMs === undefined ? {} : { drainMs }),
  };
}

export function publishCommand(): Command {
  return withCommon(
    new Command("publish")
      .description(
        "replay a vitals data set (CSV) to a collector as encrypted readings; exits 1 unless all are acknowledged",
      )
      .requiredOption("--to <deviceId>", "the collector's device ID (64 hex)")
      .requiredOption("--dataset <file>", "vitals CSV (data/README.md), e.g. data/vitals.csv")
      .option("--patient <id>", "the patient whose rows to send (default: the file's first)")
      .option("--rate <n>", "readings per second (default: as fast as the acknowledgements allow)")
      .option("--loop", "repeat the data set (shifted in time) until Ctrl-C")
      .option(
        "--count <n>",
        "send this many readings (default: the patient's rows once; with --loop, unlimited)",
      )
      .option("--batch <n>", `most readings per frame (1–${MAX_READINGS_PER_BATCH})`, "64")
      .option("--window <n>", "most readings sent and not yet acknowledged", "4096")
      .option("--ack-timeout <ms>", "re-send unacknowledged readings after this long without an ack", "3000")
      .option("--timeout <ms>", "session grant timeout, and the wait for the last acks", "30000")
      .option(
        "--rotate-after-messages <n>",
        "rotate the session key after this many frames (default: the AEAD limit)",
      )
      .option(
        "--rotate-after-ms <ms>",
        "rotate the session key at this age (default: 60 s before the grant expires)",
      )
      .option(
        "--rotation-drain-ms <ms>",
        "how long a rotated-away session still opens frames in flight (default 5000)",
      )
      .option("--broker-url <url>", "MQTT broker (default: the pinned one)")
      .option("--quiet", "no progress output"),
  ).action(async (o: PublishFlags) => {
    const rate = positive("--rate", o.rate);
    const batchMax = positive("--batch", o.batch) as number;
    if (batchMax > MAX_READINGS_PER_BATCH)
      throw new DeviceError("E_BAD_ARGUMENT", `--batch: at most ${MAX_READINGS_PER_BATCH}`);
    const window = positive("--window", o.window) as number;
    const ackTimeoutMs = positive("--ack-timeout", o.ackTimeout) as number;
    const timeoutMs = positive("--timeout", o.timeout) as number;
    const count = positive("--count", o.count);
    const rotation = rotationFlags(o);
    // Read and check the whole file before connecting: a bad file sends nothing.
    const dataset = readDataset(o.dataset, o.patient);
    const total = count ?? (o.loop ? undefined : dataset.readings.length);
    if (!o.loop && total !== undefined && total > dataset.readings.length)
      throw new DeviceError(
        "E_BAD_ARGUMENT",
        `--count: the data set has ${dataset.readings.length} rows for ${dataset.patient ?? "the file"}; add --loop to repeat it`,
      );
    const device = await openDevice(o, { grantTimeoutMs: timeoutMs, ...(rotation ? { rotation } : {}) });
    try {
      await publish(device, o, { dataset, total, rate, batchMax, window, ackTimeoutMs, timeoutMs });
    } finally {
      await device.close();
    }
  });
}

async function publish(
  device: Device,
  o: PublishFlags,
  p: {
    dataset: ReturnType<typeof readDataset>;
    total: number | undefined;
    rate: number | undefined;
    batchMax: number;
    window: number;
    ackTimeoutMs: number;
    timeoutMs: number;
  },
): Promise<void> {
  const to = o.to.toLowerCase().replace(/^0x/, "");
  const streamId = new Uint8Array(randomBytes(8));
  const printer = progressPrinter(process.stderr, !o.quiet);
  let rotations = 0;
  let foreign = 0;
  const publisher = new ReadingPublisher(
    { send: (message) => device.send(to, message) },
    {
      streamId,
      reading: (n) => replayReading(p.dataset.readings, n),
      total: p.total,
      ...(p.rate === undefined ? {} : { rate: p.rate }),
      batchMax: p.batchMax,
      window: p.window,
      ackTimeoutMs: p.ackTimeoutMs,
      finalTimeoutMs: p.timeoutMs,
      onProgress: (x) => printer.update(x),
    },
  );
  device.on("message", (m) => {
    if (m.from !== to) return;
    try {
      if (peekTelemetryType(m.data) !== TelemetryMessageType.ACK) return void foreign++;
      const ack = decodeAck(m.data);
      if (Buffer.from(ack.streamId).equals(streamId)) publisher.onAck(ack);
    } catch (error) {
      if (!isTelemetryError(error)) throw error;
      foreign++;
    }
  });
  device.on("session-rotated", (e) => {
    if (e.peerId !== to) return;
    rotations++;
    publisher.onRotated();
  });
  device.on("session-retired", (e) => {
    if (e.peerId === to && e.reason === "rotated") publisher.onOldSessionRetired();
  });
  device.on("error", (e) => process.stderr.write(`warning: ${e.message}\n`));
  const stop = () => publisher.stop();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  let summary: Awaited<ReturnType<ReadingPublisher["run"]>>;
  try {
    await device.connect(o.brokerUrl ? { brokerUrl: o.brokerUrl } : {});
    summary = await publisher.run();
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    printer.done();
  }
  const lat = summary.ackLatencyMs;
  print(
    o,
    [
      `sent ${summary.sent} readings of ${p.dataset.patient ?? o.dataset} to ${to.slice(0, 12)}…, ${summary.acknowledged} acknowledged in ${summary.seconds.toFixed(1)} s`,
      `  ${summary.frames} frames, ${summary.resent} readings re-sent, ${rotations} key rotation(s)${lat ? `, ack latency p50 ${lat.p50} ms p99 ${lat.p99} ms` : ""}`,
    ].join("\n"),
    {
      event: "published",
      to,
      streamId: Buffer.from(streamId).toString("hex"),
      patient: p.dataset.patient ?? null,
      ...summary,
      rotations,
      ignoredMessages: foreign,
    },
  );
  if (summary.acknowledged < summary.sent)
    throw new DeviceError(
      "E_PEER_TIMEOUT",
      `${summary.sent - summary.acknowledged} of ${summary.sent} readings not acknowledged by the collector within ${p.timeoutMs} ms of the last send: is the collector running and its database reachable?`,
    );
}
