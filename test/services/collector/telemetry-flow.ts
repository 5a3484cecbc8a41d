/**
 * Helpers of the collector's end-to-end tests: readings, batches, the acks a device receives, and
 * the chain, head and device they run against.
 */
import type { Device, MessageEvent } from "../../../device/sdk";
import { decodeAck, encodeReadingBatch, type Reading } from "../../../telemetry";
import { startTestChain, type TestChain } from "../../../testkit/chain";
import { joinedDevice, removeDir } from "../../../testkit/device";
import { startTestHead, type TestHead } from "../../../testkit/head";
import { sampleReading } from "../../telemetry/arbitraries";

/** `count` plausible readings, one a second, varied by index. */
export function readingsFrom(first: number, count: number): Reading[] {
  return Array.from({ length: count }, (_, i) => {
    const n = first + i;
    return {
      ...sampleReading(Date.UTC(2026, 0, 1) + n * 1000),
      heartRateBpm: 60 + (n % 40),
      temperatureCentiC: 3600 + (n % 150),
    };
  });
}

/** Encodes readings first … first + count − 1 of a stream, in frames of `perFrame`. */
export function batches(streamId: Uint8Array, first: number, count: number, perFrame: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = first; i < first + count; i += perFrame) {
    const n = Math.min(perFrame, first + count - i);
    out.push(encodeReadingBatch({ streamId, firstIndex: i, readings: readingsFrom(i, n) }));
  }
  return out;
}

/** Records the highest ack a device received per stream (hex). */
export class AckLog {
  readonly next = new Map<string, number>();
  readonly all: { stream: string; nextIndex: number }[] = [];
  private readonly listener = (m: MessageEvent) => {
    try {
      const ack = decodeAck(m.data);
      const stream = Buffer.from(ack.streamId).toString("hex");
      this.all.push({ stream, nextIndex: ack.nextIndex });
      this.next.set(stream, Math.max(this.next.get(stream) ?? 0, ack.nextIndex));
    } catch {
      // not an ack
    }
  };

  constructor(private readonly device: Device) {
    device.on("message", this.listener);
  }

  of(streamId: Uint8Array): number {
    return this.next.get(Buffer.from(streamId).toString("hex")) ?? 0;
  }

  close(): void {
    this.device.off("message", this.listener);
  }
}

/**
 * What a publishing device does, in miniature: sends the stream from its acknowledged frontier,
 * and sends the unacknowledged rest again whenever no ack progress comes within `retryMs`.
 * Resolves once the collector acknowledged all `total` readings.
 * @throws Error after `timeoutMs` without the full ack
 */
export async function publishUntilAcked(
  device: Device,
  collectorId: string,
  streamId: Uint8Array,
  total: number,
  acks: AckLog,
  o: {
    perFrame?: number;
    retryMs?: number;
    timeoutMs?: number;
    onFrame?: (sent: number) => Promise<void>;
  } = {},
): Promise<{ framesSent: number }> {
  const perFrame = o.perFrame ?? 50;
  const deadline = Date.now() + (o.timeoutMs ?? 60_000);
  let framesSent = 0;
  while (acks.of(streamId) < total) {
    if (Date.now() > deadline) throw new Error(`only ${acks.of(streamId)} of ${total} readings acknowledged`);
    const from = acks.of(streamId);
    for (const frame of batches(streamId, from, total - from, perFrame)) {
      await device.send(collectorId, frame);
      framesSent++;
      await o.onFrame?.(framesSent);
    }
    const waitUntil = Date.now() + (o.retryMs ?? 1_500);
    while (acks.of(streamId) < total && Date.now() < waitUntil) await new Promise((r) => setTimeout(r, 25));
  }
  return { framesSent };
}

/** What the collector's end-to-end tests run against, short of the collector itself. */
export interface TelemetryScene {
  chain: TestChain;
  /** A head on the machine's Mosquitto, under the scene's own topic prefix. */
  head: TestHead;
  /** A joined device, connected. */
  device: Device;
  acks: AckLog;
  /** Closes the device, the head and the chain, and removes the device's data. */
  close(): Promise<void>;
}

/**
 * A chain, a head on the machine's Mosquitto under `prefix` and a joined, connected device with
 * its {@link AckLog}. A step that fails closes what the earlier ones started.
 */
export async function startTelemetryScene(prefix: string, grantTimeoutMs: number): Promise<TelemetryScene> {
  const chain = await startTestChain();
  let head: TestHead | undefined;
  let device: Device | undefined;
  const close = async (acks?: AckLog) => {
    acks?.close();
    await device?.close();
    await head?.destroy();
    await chain.stop();
    if (device) removeDir(device.dataDir);
  };
  try {
    head = await startTestHead(chain, { brokerUrl: "mqtt://127.0.0.1:1883", topicPrefix: prefix });
    device = await joinedDevice(head, { topicPrefix: prefix, grantTimeoutMs });
    await device.connect();
  } catch (error) {
    await close();
    throw error;
  }
  const acks = new AckLog(device);
  return { chain, head, device, acks, close: () => close(acks) };
}
