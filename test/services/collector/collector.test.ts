/**
 * The collector end to end on real parts: a hardhat node with the registry, a real cluster head
 * using the machine's Mosquitto (no broker ACLs there, so the test can play the attacker: replay
 * captured frames, forge senders), the collector enrolled and joined like any device, storing in
 * embedded PGlite, and a device SDK in the test.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Device } from "../../../device/sdk";
import { MessageType } from "../../../protocol/constants";
import { encodeAck, encodeReadingBatch, MAX_READINGS_PER_BATCH, TelemetrySize } from "../../../telemetry";
import { MqttTransport } from "../../../transport/mqtt/client";
import { decodeEnvelope, encodeEnvelope } from "../../../transport/mqtt/envelope";
import { inboxTopic } from "../../../transport/mqtt/topics";
import type { TestChain } from "../../../testkit/chain";
import { startTestCollector, type TestCollector, collectorHeadOf } from "../../../testkit/collector";
import { requireMosquitto, waitUntil } from "../../../testkit/device";
import type { TestHead } from "../../../testkit/head";
import {
  type AckLog,
  batches,
  readingsFrom,
  startTelemetryScene,
  type TelemetryScene,
} from "./telemetry-flow";

describe("collector over Mosquitto with embedded PGlite", () => {
  let chain: TestChain;
  let head: TestHead;
  let collector: TestCollector;
  let device: Device;
  let acks: AckLog;
  let scene: TelemetryScene | undefined;
  const logLines: string[] = [];
  const prefix = `iotguard-col-${randomBytes(5).toString("hex")}`;

  beforeAll(async () => {
    await requireMosquitto();
    scene = await startTelemetryScene(prefix, 5_000);
    ({ chain, head, device, acks } = scene);
    collector = await startTestCollector(collectorHeadOf(head, chain), { logLines });
  }, 120_000);

  afterAll(async () => {
    await collector?.destroy();
    await scene?.close();
  }, 60_000);

  it("stores N readings sent through a head-granted session as N rows and acknowledges them", async () => {
    const stream = new Uint8Array(randomBytes(8));
    for (const frame of batches(stream, 0, 500, 50)) await device.send(collector.deviceId, frame);
    await waitUntil(() => acks.of(stream) === 500, "the ack of 500 readings", 30_000);
    expect(await collector.store.count(device.deviceId)).toBe(500);
    const rows = await collector.store.page({ deviceId: device.deviceId, limit: 1000 });
    expect(rows.map((r) => r.index)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(rows[7]).toMatchObject({
      ...readingsFrom(7, 1)[0],
      streamId: Buffer.from(stream).toString("hex"),
    });
    const session = (await device.status()).sessions.find((s) => s.peerId === collector.deviceId);
    expect(rows[0]!.sessionId).toBe(session?.sessionId);
  });

  it("stores a re-sent reading once (new frame, same identity) and acknowledges it again", async () => {
    const stream = new Uint8Array(randomBytes(8));
    for (const frame of batches(stream, 0, 100, 100)) await device.send(collector.deviceId, frame);
    await waitUntil(() => acks.of(stream) === 100, "the first ack");
    const ackCount = acks.all.length;
    for (const frame of batches(stream, 50, 60, 30)) await device.send(collector.deviceId, frame);
    await waitUntil(() => acks.of(stream) === 110, "the ack after the re-send");
    expect(acks.all.length).toBeGreaterThan(ackCount);
    expect(await collector.store.count(device.deviceId)).toBe(500 + 110);
  });

  it("acknowledges only the contiguous prefix: a gap holds the ack until it is filled", async () => {
    const stream = new Uint8Array(randomBytes(8));
    for (const frame of batches(stream, 10, 10, 10)) await device.send(collector.deviceId, frame);
    await waitUntil(() => acks.all.some((a) => a.stream === Buffer.from(stream).toString("hex")), "an ack");
    expect(acks.of(stream)).toBe(0);
    for (const frame of batches(stream, 0, 10, 10)) await device.send(collector.deviceId, frame);
    await waitUntil(() => acks.of(stream) === 20, "the ack covering the filled gap");
  });

  it("never stores malformed, oversized, out-of-schema or wrong-type frames, answers none, and the stream goes on", async () => {
    const stream = new Uint8Array(randomBytes(8));
    const before = await collector.store.count();
    const acksBefore = acks.all.length;
    const valid = encodeReadingBatch({ streamId: stream, firstIndex: 0, readings: readingsFrom(0, 3) });
    const outOfSchema = valid.slice();
    outOfSchema[TelemetrySize.BATCH_HEADER + 4] = 251; // heart rate above 250 bpm
    const truncated = valid.subarray(0, valid.length - 1);
    const trailing = Uint8Array.from([...valid, 0]);
    const oversized = new Uint8Array(
      TelemetrySize.BATCH_HEADER + (MAX_READINGS_PER_BATCH + 1) * TelemetrySize.READING,
    );
    oversized.set(valid.subarray(0, TelemetrySize.BATCH_HEADER));
    new DataView(oversized.buffer).setUint16(14, MAX_READINGS_PER_BATCH + 1);
    const wrongType = encodeAck({ streamId: stream, nextIndex: 5 });
    const notTelemetry = new TextEncoder().encode("hello collector");
    for (const bad of [outOfSchema, truncated, trailing, oversized, wrongType, notTelemetry])
      await device.send(collector.deviceId, bad);
    await device.send(collector.deviceId, valid);
    await waitUntil(() => acks.of(stream) === 3, "the valid batch's ack");
    expect(await collector.store.count()).toBe(before + 3);
    // Exactly one ack for the stream: none of the refused frames was answered.
    expect(
      acks.all.slice(acksBefore).filter((a) => a.stream === Buffer.from(stream).toString("hex")),
    ).toHaveLength(1);
    const metrics = await (await fetch(`${collector.url}/metrics`)).text();
    const rejected = (reason: string) =>
      Number(
        new RegExp(`iotguard_collector_frames_rejected_total\\{reason="${reason}"\\} (\\d+)`).exec(
          metrics,
        )?.[1] ?? 0,
      );
    expect(rejected("E_TELEMETRY_OUT_OF_RANGE")).toBe(1);
    expect(rejected("E_TELEMETRY_MALFORMED")).toBe(2); // truncated, trailing byte
    expect(rejected("unexpected_type")).toBe(1); // an ack sent to the collector
    expect(rejected("E_TELEMETRY_TOO_LARGE")).toBe(1);
    expect(rejected("E_TELEMETRY_UNSUPPORTED")).toBe(1);
    // Logged without the payload: no line carries the refused bytes.
    const refusals = logLines.filter((l) => l.includes("telemetry frame refused"));
    expect(refusals).toHaveLength(6);
    for (const line of refusals) {
      expect(line).not.toContain(Buffer.from(outOfSchema).toString("hex").slice(20));
      expect(line).not.toContain("hello collector");
      expect(line).toContain(device.deviceId);
    }
  });

  it("drops replayed frames and frames from senders without a granted session: no row", async () => {
    const spy = await MqttTransport.connect("mqtt://127.0.0.1:1883", {
      clientId: `spy-${randomBytes(4).toString("hex")}`,
      clean: true,
    });
    try {
      const captured: Buffer[] = [];
      spy.on("message", (_t, p) => captured.push(p));
      const topic = inboxTopic(prefix, head.clusterId, collector.deviceId);
      await spy.subscribe([topic]);
      const stream = new Uint8Array(randomBytes(8));
      const [frame] = batches(stream, 0, 5, 5);
      await device.send(collector.deviceId, frame!);
      await waitUntil(() => acks.of(stream) === 5, "the original's ack");
      await waitUntil(
        () => captured.some((p) => decodeEnvelope(p).type === MessageType.FRAME_I2R),
        "the capture",
      );
      const original = captured.find((p) => decodeEnvelope(p).type === MessageType.FRAME_I2R)!;
      const rowsBefore = await collector.store.count();
      const stats = { ...collector.device.stats };

      await spy.publish(topic, original); // replay
      // The same frame claimed by a sender the head never granted a session with the collector.
      const stranger = new Uint8Array(randomBytes(32));
      await spy.publish(topic, Buffer.from(encodeEnvelope(stranger, decodeEnvelope(original).message)));
      // A frame for a session that does not exist, from the real device's ID.
      const forged = Buffer.from(original);
      forged[32 + 3]! ^= 0xff; // short session ID
      await spy.publish(topic, forged);
      await waitUntil(
        () =>
          collector.device.stats.replayed === stats.replayed + 1 &&
          collector.device.stats.refused === stats.refused + 2,
        "the collector's device counters",
      );
      await collector.device.idle();
      await collector.idle();
      expect(await collector.store.count()).toBe(rowsBefore);
    } finally {
      await spy.close();
    }
  });

  it("serves the stored readings over its API with the bearer token, paged by cursor", async () => {
    expect((await fetch(`${collector.url}/v1/readings`)).status).toBe(401);
    const refused = await fetch(`${collector.url}/v1/readings`, {
      headers: { authorization: "Bearer nope" },
    });
    expect(await refused.json()).toEqual({ error: { code: "E_UNAUTHORIZED", message: expect.any(String) } });
    const bad = await collector.get(`/v1/readings?device=xyz`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe("E_VALIDATION");
    const t0 = Date.UTC(2026, 0, 1);
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const q: string = `device=${device.deviceId}&from=${t0}&to=${new Date(t0 + 50_000).toISOString()}&limit=20${cursor ? `&cursor=${cursor}` : ""}`;
      const page = (await (await collector.get(`/v1/readings?${q}`)).json()) as {
        readings: { deviceTimeMs: number; deviceId: string }[];
        nextCursor: string | null;
      };
      seen.push(...page.readings.map((r) => r.deviceTimeMs));
      cursor = page.nextCursor;
    } while (cursor);
    // Streams in this suite overlap in time: readings 0..49 of every stream of this device.
    expect(seen.length).toBeGreaterThanOrEqual(50);
    expect(seen.every((t) => t >= t0 && t < t0 + 50_000)).toBe(true);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
  });
});
