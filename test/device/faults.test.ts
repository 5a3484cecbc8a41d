/**
 * Device-side faults with real processes: a device killed with SIGKILL mid-stream never reuses a
 * sequence number (every nonce on the wire is checked), and a broker killed and restarted loses
 * and duplicates nothing the application sees.
 */
import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Device } from "../../device/sdk";
import { MessageType } from "../../protocol/constants";
import { decodeEnvelope } from "../../transport/mqtt/envelope";
import { startTestChain, type TestChain } from "../../testkit/chain";
import { joinedDevice, removeDir, tempDeviceDir, waitUntil } from "../../testkit/device";
import { startTestHead, type TestHead } from "../../testkit/head";
import { randomPrefix, startPrivateMosquitto } from "../../testkit/brokers";
import { nodeArgs, signalled, spawnReady } from "../../testkit/spawn";

/** Envelope sender (32) + version, type, suite (3) + short session ID (4) + sequence number (8). */
const SEQ_OFFSET = 32 + 3 + 4;

async function startSender(
  dataDir: string,
  peer: string,
  label: string,
  sequenceBlock?: bigint,
): Promise<ChildProcess> {
  const extra = sequenceBlock === undefined ? [] : [String(sequenceBlock)];
  const { child } = await spawnReady(
    [...nodeArgs("test/device/fixtures/sender.ts", "tsx"), dataDir, peer, label, ...extra],
    {
      name: "the sender",
      ready: /ready/,
      stream: "stdout",
    },
  );
  return child;
}

/** Counts every (short session ID, direction, sequence number) published to `receiverId`'s inbox. */
function watchNonces(head: TestHead, receiverId: string): Map<string, number> {
  const nonces = new Map<string, number>();
  head.broker.embedded!.broker.on("publish", ((packet: { topic: string; payload: Buffer }) => {
    if (!packet.topic.endsWith(`${receiverId}/inbox`)) return;
    const { type } = decodeEnvelope(packet.payload);
    if (type !== MessageType.FRAME_I2R && type !== MessageType.FRAME_R2I) return;
    // Short session ID, direction and sequence number determine the AEAD nonce.
    const key = `${packet.payload.subarray(32 + 3, SEQ_OFFSET).toString("hex")}/${type}/${packet.payload.readBigUInt64BE(SEQ_OFFSET)}`;
    nonces.set(key, (nonces.get(key) ?? 0) + 1);
  }) as never);
  return nonces;
}

describe("device faults", () => {
  let chain: TestChain;
  beforeAll(async () => {
    chain = await startTestChain();
  }, 60_000);
  afterAll(async () => {
    await chain?.stop();
  });

  it("a device killed with SIGKILL and restarted never reuses a sequence number", async () => {
    const head: TestHead = await startTestHead(chain, { clusterId: "11" });
    const senderDir = tempDeviceDir();
    const sender = await joinedDevice(head, { dataDir: senderDir });
    await sender.close(); // the sender runs in its own process from here on
    const receiver = await joinedDevice(head);
    await receiver.connect();
    const nonces = watchNonces(head, receiver.deviceId);
    let delivered = 0;
    receiver.on("message", () => {
      delivered++;
    });
    try {
      for (let run = 0; run < 3; run++) {
        const child = await startSender(senderDir, receiver.deviceId, `run${run}`);
        const before = nonces.size;
        await waitUntil(() => nonces.size >= before + 150, "frames from the sender", 30_000);
        await signalled(child, "SIGKILL");
      }
      const reused = [...nonces.values()].filter((n) => n > 1).length;
      console.info(
        `device kill: ${nonces.size} frames seen on the wire over 3 kills, reused nonces ${reused}, delivered ${delivered}`,
      );
      expect(reused).toBe(0);
      expect(nonces.size).toBeGreaterThanOrEqual(450);
    } finally {
      await receiver.close();
      await head.destroy();
      removeDir(senderDir);
    }
  }, 120_000);

  it("a device killed and restarted with a smaller sequence block never reuses a sequence number", async () => {
    const head: TestHead = await startTestHead(chain, { clusterId: "13" });
    const senderDir = tempDeviceDir();
    const sender = await joinedDevice(head, { dataDir: senderDir });
    await sender.close();
    const receiver = await joinedDevice(head);
    await receiver.connect();
    const nonces = watchNonces(head, receiver.deviceId);
    try {
      // K = 1024 first (the default), then K = 8 twice: the old format resumed at start + 8 here.
      for (const [run, block] of [1024n, 8n, 8n].entries()) {
        const child = await startSender(senderDir, receiver.deviceId, `block${run}`, block);
        const before = nonces.size;
        await waitUntil(() => nonces.size >= before + 100, "frames from the sender", 30_000);
        await signalled(child, "SIGKILL");
      }
      const reused = [...nonces.values()].filter((n) => n > 1).length;
      console.info(
        `block change: ${nonces.size} frames seen over 3 kills (K 1024, 8, 8), reused nonces ${reused}`,
      );
      expect(reused).toBe(0);
    } finally {
      await receiver.close();
      await head.destroy();
      removeDir(senderDir);
    }
  }, 120_000);

  it("a broker killed with SIGKILL and restarted: every message arrives once, the session continues", async () => {
    const mosquitto = await startPrivateMosquitto({ persistence: true });
    const topicPrefix = randomPrefix();
    const head = await startTestHead(chain, { clusterId: "12", brokerUrl: mosquitto.url, topicPrefix });
    const a: Device = await joinedDevice(head, { topicPrefix });
    const b: Device = await joinedDevice(head, { topicPrefix });
    try {
      await a.connect();
      await b.connect();
      const counts = new Map<string, number>();
      b.on("message", (m) => {
        const text = new TextDecoder().decode(m.data);
        counts.set(text, (counts.get(text) ?? 0) + 1);
      });
      await a.send(b.deviceId, "m 0");
      await waitUntil(() => counts.has("m 0"), "the first message");
      mosquitto.savePersistence(); // the broker knows b's subscription across the crash
      // Mosquitto writes mosquitto.db.new and renames it: the name appears once the save is whole.
      await waitUntil(() => existsSync(join(mosquitto.dir, "mosquitto.db")), "the broker's saved sessions");

      const total = 300;
      const sending = (async () => {
        for (let i = 1; i < total; i++) await a.send(b.deviceId, `m ${i}`);
      })();
      await waitUntil(() => counts.size >= 100, "traffic before the crash", 30_000);
      await mosquitto.kill();
      await new Promise((r) => setTimeout(r, 500));
      await mosquitto.start();
      await sending;
      await waitUntil(
        () => counts.size >= total,
        `all ${total} messages (have ${counts.size})`,
        30_000,
      ).catch(() => undefined);

      const lost = Array.from({ length: total }, (_, i) => `m ${i}`).filter((t) => !counts.has(t));
      const duplicated = [...counts.values()].filter((n) => n > 1).length;
      console.info(
        `broker kill: ${total} sent, ${counts.size} delivered, lost ${lost.length}, duplicated to the application ${duplicated}, dropped as replays ${b.stats.replayed}`,
      );
      expect(duplicated).toBe(0);
      expect(lost).toEqual([]);
      // The session survived the crash: one more message on it, no new grant.
      const sessionsBefore = (await a.status()).sessions.map((s) => s.sessionId);
      await a.send(b.deviceId, "after");
      await waitUntil(() => counts.has("after"), "a message after the crash");
      expect((await a.status()).sessions.map((s) => s.sessionId)).toEqual(sessionsBefore);
    } finally {
      await a.close();
      await b.close();
      await head.destroy();
      await mosquitto.stop();
    }
  }, 120_000);
});
