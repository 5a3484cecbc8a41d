/**
 * The device SDK end to end on real parts: a hardhat node with the registry, a real cluster head,
 * level in temp directories and the machine's Mosquitto (no broker-side ACLs there, which lets the
 * test play the attacker: replay and tamper with captured frames).
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Device, type MessageEvent } from "../../device/sdk";
import { MessageType } from "../../protocol/constants";
import { MqttTransport } from "../../transport/mqtt/client";
import { decodeEnvelope } from "../../transport/mqtt/envelope";
import { inboxTopic } from "../../transport/mqtt/topics";
import { startTestChain, type TestChain } from "../../testkit/chain";
import { joinedDevice, nextEvent, removeDir, requireMosquitto, waitUntil } from "../../testkit/device";
import { startTestHead, type TestHead } from "../../testkit/head";

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

describe("device SDK over Mosquitto", () => {
  let chain: TestChain;
  let head: TestHead;
  const prefix = `iotguard-dev-${randomBytes(5).toString("hex")}`;
  let a: Device;
  let b: Device;
  let aDir: string;
  const dirs: string[] = [];
  const receivedByB: MessageEvent[] = [];

  beforeAll(async () => {
    await requireMosquitto();
    chain = await startTestChain();
    head = await startTestHead(chain, { brokerUrl: "mqtt://127.0.0.1:1883", topicPrefix: prefix });
    a = await joinedDevice(head, { topicPrefix: prefix, passphrase: "correct horse", grantTimeoutMs: 3000 });
    b = await joinedDevice(head, { topicPrefix: prefix, grantTimeoutMs: 3000 });
    aDir = a.dataDir;
    dirs.push(a.dataDir, b.dataDir);
    await a.connect();
    await b.connect();
    b.on("message", (m) => receivedByB.push(m));
  }, 60_000);

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await head?.destroy();
    await chain?.stop();
    for (const d of dirs) removeDir(d);
  });

  it("opens a session, its Grant delivered to a by the head itself, and exchanges messages both ways", async () => {
    const direct = async () =>
      (await head.context.metrics.grantDeliveries.get()).values.find((v) => v.labels.outcome === "direct")
        ?.value ?? 0;
    const before = await direct();
    const openedAtB = nextEvent<{ peerId: string; role: string }>(b, "session-opened");
    const session = await a.openSession(b.deviceId);
    expect(session.sessionId).toMatch(/^[0-9a-f]{16}$/);
    expect(await openedAtB).toMatchObject({ peerId: a.deviceId, role: "responder" });
    expect(await direct()).toBe(before + 1);

    const atB = nextEvent<MessageEvent>(b, "message", (m) => str(m.data) === "hello b");
    await a.send(b.deviceId, "hello b");
    expect((await atB).from).toBe(a.deviceId);
    const atA = nextEvent<MessageEvent>(a, "message", (m) => str(m.data) === "hello a");
    await b.send(a.deviceId, text("hello a"));
    expect((await atA).from).toBe(b.deviceId);
    expect((await atA).sessionId).toBe(session.sessionId);
  });

  it("drops a replayed frame silently and refuses a tampered one, counting both", async () => {
    const spy = await MqttTransport.connect("mqtt://127.0.0.1:1883", {
      clientId: `spy-${randomBytes(4).toString("hex")}`,
      clean: true,
    });
    const captured: Buffer[] = [];
    spy.on("message", (_t, p) => captured.push(p));
    const topic = inboxTopic(prefix, head.clusterId, b.deviceId);
    await spy.subscribe([topic]);
    await a.send(b.deviceId, "capture me");
    await waitUntil(() => captured.length > 0, "the captured frame");
    const frame = captured[0]!;
    expect(decodeEnvelope(frame).type).toBe(MessageType.FRAME_I2R);
    await waitUntil(() => receivedByB.some((m) => str(m.data) === "capture me"), "the original frame at B");
    const before = { ...b.stats };

    await spy.publish(topic, frame); // replay
    // A flipped ciphertext bit under the same sequence number: the replay check comes first
    // (RFC 8613 §7.4 order), so it is dropped as a replay without touching the AEAD.
    const flipped = Buffer.from(frame);
    flipped[flipped.length - 20]! ^= 0x01;
    await spy.publish(topic, flipped);
    // A fresh sequence number (envelope 32 + header byte 14 = the seq's low byte): passes the
    // window, fails the tag because the header is the AAD.
    const renumbered = Buffer.from(frame);
    renumbered[32 + 14]! ^= 0x40;
    await spy.publish(topic, renumbered);
    await waitUntil(
      () => b.stats.replayed === before.replayed + 2 && b.stats.refused === before.refused + 1,
      "the counters",
    );
    await b.idle();
    expect(receivedByB.filter((m) => str(m.data) === "capture me")).toHaveLength(1);
    expect(b.stats.received).toBe(before.received);
    await spy.close();
  });

  it("never reuses a sequence number across a restart (same session, OSCORE B.1 blocks)", async () => {
    const sessionBefore = (await a.status()).sessions.find((s) => s.peerId === b.deviceId)?.sessionId;
    await a.send(b.deviceId, "before restart");
    await waitUntil(
      () => receivedByB.some((m) => str(m.data) === "before restart"),
      "the last frame before restart",
    );
    await a.close();
    await expect(Device.open(aDir, { passphrase: "wrong" })).rejects.toMatchObject({
      code: "E_BAD_PASSPHRASE",
    });
    await expect(Device.open(aDir)).rejects.toMatchObject({ code: "E_BAD_PASSPHRASE" });
    a = await Device.open(aDir, { passphrase: "correct horse", grantTimeoutMs: 3000 });
    await a.connect();
    await a.send(b.deviceId, "after restart");
    await waitUntil(
      () => receivedByB.some((m) => str(m.data) === "after restart"),
      "the frame after restart",
    );

    const fromA = receivedByB.filter((m) => m.from === a.deviceId && m.sessionId === sessionBefore);
    const seqs = fromA.map((m) => m.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]! > seqs[i - 1]!).toBe(true);
    const last = fromA[fromA.length - 1]!;
    expect(str(last.data)).toBe("after restart");
    // The restarted sender skipped the whole reserved block instead of reusing a number.
    expect(last.seq).toBeGreaterThanOrEqual(1024n);
  });

  it("ends the session when the head says the peer was revoked", async () => {
    const ended = nextEvent<{ peerId: string }>(a, "peer-ended");
    const res = await head.operator("POST", `/v1/devices/${b.deviceId}/revoke`);
    expect(res.status).toBe(200);
    expect((await ended).peerId).toBe(b.deviceId);
    expect((await a.status()).sessions.filter((s) => s.peerId === b.deviceId)).toHaveLength(0);
    // A new session with the revoked peer is refused by the head (M2 = b cannot get a grant).
    await expect(a.openSession(b.deviceId)).rejects.toMatchObject({ code: "E_PEER_TIMEOUT" });
  });
});
