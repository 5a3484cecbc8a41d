/**
 * The embedded broker's limits before and after authentication (issue 19): a packet's size is
 * checked on its fixed header, before aedes buffers the body; only a small CONNECT is read from an
 * unauthenticated connection; unauthenticated connections are bounded in number and in time.
 *
 * Real sockets against a real embedded broker: raw TCP where the client must misbehave, MQTT.js
 * (protocol version 4) for legitimate clients.
 */
import { randomBytes } from "node:crypto";
import { connect as tcpConnect, type Socket } from "node:net";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import mqtt, { type MqttClient } from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { FRAME_OVERHEAD, MAX_FRAME_PLAINTEXT } from "../../../../protocol/constants";
import {
  type EmbeddedBroker,
  EmbeddedBrokerConfigError,
  type EmbeddedBrokerOptions,
  largestFramePublishBytes,
  type Principal,
  startEmbeddedBroker,
} from "../../../../services/cluster-head/broker/embedded-broker";
import { encodeEnvelope, SENDER_ID_BYTES } from "../../../../transport/mqtt/envelope";
import { inboxTopic, MAX_CLUSTER_ID } from "../../../../transport/mqtt/topics";
import { randomDeviceId, randomPrefix, waitFor } from "../../../../testkit/brokers";

/** The longest cluster ID gives the longest inbox topic, so the largest legitimate PUBLISH. */
const CLUSTER = MAX_CLUSTER_ID;
const MiB = 2 ** 20;
/** The largest value a four-byte Remaining Length can hold (MQTT 3.1.1 §2.2.3): 256 MiB - 1. */
const MAX_REMAINING_LENGTH = 268_435_455;
const [A, B, C] = [randomDeviceId(), randomDeviceId(), randomDeviceId()] as [string, string, string];
const password = (user: string): Buffer => Buffer.from(`secret:${user}`);
const devices = new Map<string, Principal>(
  [A, B, C].map((id) => [id, { kind: "device", deviceId: id, clusterId: CLUSTER }]),
);

const brokers: EmbeddedBroker[] = [];
const sockets: Socket[] = [];
const clients: MqttClient[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await Promise.all(brokers.splice(0).map((b) => b.close()));
});

async function start(
  options: Partial<EmbeddedBrokerOptions> = {},
): Promise<{ broker: EmbeddedBroker; prefix: string }> {
  const prefix = randomPrefix();
  const broker = await startEmbeddedBroker({
    topicPrefix: prefix,
    authenticate: async (username, pw) => (pw.equals(password(username)) ? devices.get(username) : undefined),
    mayPublishTo: () => true,
    ...options,
  });
  brokers.push(broker);
  return { broker, prefix };
}

// --- raw MQTT 3.1.1 packets -------------------------------------------------------------------

/** MQTT 3.1.1 §2.2.3 Remaining Length: 7 bits per byte, high bit = more bytes follow. */
function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

/** §1.5.3: a 2-byte big-endian length, then the bytes. */
function lengthPrefixed(s: string | Buffer): Buffer {
  const bytes = typeof s === "string" ? Buffer.from(s) : s;
  const len = Buffer.alloc(2);
  len.writeUInt16BE(bytes.length);
  return Buffer.concat([len, bytes]);
}

function packet(firstByte: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([firstByte]), remainingLength(body.length), body]);
}

/** §3.1: CONNECT, protocol level 4, clean session, user name and password, keep-alive 60 s. */
function connectPacket(clientId: string, username: string, pw: Buffer): Buffer {
  const flags = 0x80 | 0x40 | 0x02;
  return packet(
    0x10,
    Buffer.concat([
      lengthPrefixed("MQTT"),
      Buffer.from([4, flags, 0, 60]),
      lengthPrefixed(clientId),
      lengthPrefixed(username),
      lengthPrefixed(pw),
    ]),
  );
}

/** §3.8: SUBSCRIBE (fixed header flags 0b0010) with one topic. */
function subscribePacket(messageId: number, topic: string, qos: number): Buffer {
  return packet(
    0x82,
    Buffer.concat([
      Buffer.from([messageId >> 8, messageId & 0xff]),
      lengthPrefixed(topic),
      Buffer.from([qos]),
    ]),
  );
}

const PINGREQ = Buffer.from([0xc0, 0x00]);

/** Splits small broker replies (Remaining Length < 128) into packets. */
function splitPackets(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 2 + (bytes[i + 1] as number))
    out.push(bytes.subarray(i, i + 2 + (bytes[i + 1] as number)));
  return out;
}

interface Raw {
  socket: Socket;
  /** Everything the broker sent so far. */
  received(): Buffer;
  /** Resolves with the first `n` bytes the broker sent; rejects if it closes first. */
  bytes(n: number): Promise<Buffer>;
  readonly isClosed: boolean;
  closed: Promise<void>;
}

/** A raw TCP connection to the broker, connected. */
async function raw(broker: EmbeddedBroker, localAddress?: string): Promise<Raw> {
  const socket = tcpConnect({
    host: "127.0.0.1",
    port: broker.port,
    ...(localAddress ? { localAddress } : {}),
  });
  sockets.push(socket);
  socket.on("error", () => undefined); // ECONNRESET / EPIPE once the broker closes: expected here
  let data = Buffer.alloc(0);
  let isClosed = false;
  const closed = new Promise<void>((resolve) =>
    socket.once("close", () => {
      isClosed = true;
      resolve();
    }),
  );
  socket.on("data", (chunk: Buffer) => {
    data = Buffer.concat([data, chunk]);
    socket.emit("received");
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  return {
    socket,
    received: () => data,
    bytes: (n) =>
      new Promise<Buffer>((resolve, reject) => {
        const check = (): void => {
          if (data.length >= n) {
            socket.off("received", check);
            resolve(data.subarray(0, n));
          } else if (isClosed) reject(new Error(`closed after ${data.length} of ${n} bytes`));
        };
        socket.on("received", check);
        void closed.then(check);
        check();
      }),
    get isClosed() {
      return isClosed;
    },
    closed,
  };
}

/** Writes `header`, then 1 MiB chunks until the broker closes the connection or `budget` bytes are sent. */
async function flood(conn: Raw, header: Buffer, budget: number): Promise<number> {
  const chunk = Buffer.alloc(MiB, 0x41);
  conn.socket.write(header);
  let sent = 0;
  while (!conn.isClosed && sent < budget) {
    const ok = conn.socket.write(chunk);
    sent += chunk.length;
    if (!ok) await Promise.race([new Promise((r) => conn.socket.once("drain", r)), conn.closed]);
  }
  return sent;
}

const gc = ((): (() => void) => {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
})();

function memory(): { rss: number; external: number; arrayBuffers: number } {
  gc();
  const { rss, external, arrayBuffers } = process.memoryUsage();
  return { rss, external, arrayBuffers };
}

async function mqttClient(broker: EmbeddedBroker, id: string): Promise<MqttClient> {
  const client = await mqtt.connectAsync(broker.url, {
    protocolVersion: 4,
    clientId: id,
    username: id,
    password: password(id),
    clean: true,
    reconnectPeriod: 0,
  });
  clients.push(client);
  return client;
}

// --- packet sizes -----------------------------------------------------------------------------

describe("embedded broker limits: packet sizes", () => {
  it("closes four sockets announcing a 256 MiB CONNECT before the head buffers it: memory grows by far less than 64 MiB", async () => {
    const { broker } = await start();
    const budget = 48 * MiB; // per socket: 192 MiB in all, three times the bound below
    const header = Buffer.concat([Buffer.from([0x10]), remainingLength(MAX_REMAINING_LENGTH)]);
    const conns = await Promise.all(Array.from({ length: 4 }, () => raw(broker)));
    const before = memory();
    const sent = await Promise.all(conns.map((c) => flood(c, header, budget)));
    const after = memory();
    const growth = {
      rss: after.rss - before.rss,
      external: after.external - before.external,
      arrayBuffers: after.arrayBuffers - before.arrayBuffers,
    };
    console.info(
      `4 × 256 MiB CONNECT: sent ${sent.map((s) => `${s / MiB} MiB`).join(", ")} before the close; ` +
        `growth rss ${(growth.rss / MiB).toFixed(1)} MiB, external ${(growth.external / MiB).toFixed(1)} MiB, ` +
        `arrayBuffers ${(growth.arrayBuffers / MiB).toFixed(1)} MiB`,
    );
    expect(conns.map((c) => c.isClosed)).toEqual([true, true, true, true]);
    for (const s of sent) expect(s).toBeLessThan(budget);
    expect(growth.rss).toBeLessThan(64 * MiB);
    expect(growth.external).toBeLessThan(64 * MiB);
    expect(growth.arrayBuffers).toBeLessThan(64 * MiB);
    expect(broker.counters.refusedOversize).toBe(4);
    expect(conns.every((c) => c.received().length === 0)).toBe(true); // no CONNACK for them
  });

  it("closes an unauthenticated socket whose first packet is a 256 MiB PUBLISH, not a CONNECT, without reading its body", async () => {
    const { broker } = await start();
    const conn = await raw(broker);
    const sent = await flood(
      conn,
      Buffer.concat([Buffer.from([0x30]), remainingLength(MAX_REMAINING_LENGTH)]),
      48 * MiB,
    );
    expect(conn.isClosed).toBe(true);
    expect(sent).toBeLessThan(48 * MiB);
    expect(broker.counters.refusedMalformed).toBe(1);
  });

  it("closes a socket whose Remaining Length runs past four bytes (MQTT 3.1.1 §2.2.3)", async () => {
    const { broker } = await start();
    const conn = await raw(broker);
    conn.socket.write(Buffer.from([0x10, 0x80, 0x80, 0x80, 0x80, 0x01]));
    await conn.closed;
    expect(broker.counters.refusedMalformed).toBe(1);
  });

  it("answers a CONNECT of exactly maxConnectBytes and closes one a byte longer without a CONNACK", async () => {
    const maxConnectBytes = 512;
    const { broker } = await start({ maxConnectBytes });
    // Remaining Length of connectPacket(A, A, pw) is 10 + (2 + 64) * 2 + 2 + pw.length.
    const fits = Buffer.alloc(maxConnectBytes - (10 + 2 * 66 + 2), 0x61);
    const exact = connectPacket(A, A, fits);
    expect(exact.length).toBe(1 + 2 + maxConnectBytes); // a 2-byte Remaining Length
    const ok = await raw(broker);
    ok.socket.write(exact);
    expect([...(await ok.bytes(4))]).toEqual([0x20, 0x02, 0x00, 0x04]); // read and refused by authenticate
    const tooLong = await raw(broker);
    tooLong.socket.write(connectPacket(A, A, Buffer.concat([fits, Buffer.from("a")])));
    await tooLong.closed;
    expect(tooLong.received().length).toBe(0);
    expect(broker.counters.refusedOversize).toBe(1);
    expect(broker.counters.refusedAuth).toBe(1);
  });

  it("closes an authenticated client that announces a 256 MiB PUBLISH, and keeps the others connected", async () => {
    const { broker } = await start();
    const other = await mqttClient(broker, B);
    const conn = await raw(broker);
    conn.socket.write(connectPacket(A, A, password(A)));
    expect([...(await conn.bytes(4))]).toEqual([0x20, 0x02, 0x00, 0x00]);
    const sent = await flood(
      conn,
      Buffer.concat([Buffer.from([0x32]), remainingLength(MAX_REMAINING_LENGTH)]),
      48 * MiB,
    );
    expect(conn.isClosed).toBe(true);
    expect(sent).toBeLessThan(48 * MiB);
    expect(broker.counters.refusedOversize).toBe(1);
    expect(other.connected).toBe(true);
  });

  it("delivers the largest legitimate frame (64 KiB plaintext, sealed, in an envelope) and closes a publisher one byte over", async () => {
    const { broker, prefix } = await start();
    expect(broker.limits.maxPacketBytes).toBe(largestFramePublishBytes(prefix));
    const sub = await mqttClient(broker, B);
    await sub.subscribeAsync(inboxTopic(prefix, CLUSTER, B), { qos: 1 });
    const received: Buffer[] = [];
    sub.on("message", (_t, payload) => received.push(payload));
    const pub = await mqttClient(broker, A);
    const pubClosed = new Promise<void>((resolve) => pub.once("close", () => resolve()));

    const frame = randomBytes(FRAME_OVERHEAD + MAX_FRAME_PLAINTEXT);
    const biggest = Buffer.from(encodeEnvelope(Buffer.from(A, "hex"), frame));
    expect(biggest.length).toBe(SENDER_ID_BYTES + FRAME_OVERHEAD + MAX_FRAME_PLAINTEXT);
    await pub.publishAsync(inboxTopic(prefix, CLUSTER, B), biggest, { qos: 1 });
    await waitFor(() => received.length === 1, "the largest frame");
    expect(received[0]?.equals(biggest)).toBe(true);
    expect(broker.counters.refusedOversize).toBe(0);

    pub.publish(inboxTopic(prefix, CLUSTER, B), Buffer.concat([biggest, Buffer.from([0])]), { qos: 1 });
    await pubClosed;
    expect(broker.counters.refusedOversize).toBe(1);
    expect(received.length).toBe(1);
  });

  it("refuses a maxPacketBytes too small for the largest frame, and bad limits, before listening", async () => {
    const hooks = { authenticate: async () => undefined, mayPublishTo: () => false };
    const needed = largestFramePublishBytes("iotguard");
    await expect(startEmbeddedBroker({ ...hooks, maxPacketBytes: needed - 1 })).rejects.toThrow(
      /maxPacketBytes/,
    );
    for (const bad of [
      { maxConnectBytes: 100 },
      { maxConnectBytes: 1.5 },
      { maxPendingConnections: 0 },
      { maxPendingPerAddress: -1 },
      { connectTimeoutMs: 0 },
      { connectTimeoutMs: Number.NaN },
    ]) {
      const err = await startEmbeddedBroker({ ...hooks, ...bad }).catch((e: unknown) => e);
      expect(err, JSON.stringify(bad)).toBeInstanceOf(EmbeddedBrokerConfigError);
      expect(String((err as Error).message)).toContain(Object.keys(bad)[0]);
    }
  });
});

// --- unauthenticated connections --------------------------------------------------------------

describe("embedded broker limits: unauthenticated connections", () => {
  it("has defaults that bound pre-authentication memory and time", async () => {
    const { broker, prefix } = await start();
    expect(broker.limits).toEqual({
      maxConnectBytes: 1024,
      maxPacketBytes: largestFramePublishBytes(prefix),
      maxPendingConnections: 256,
      maxPendingPerAddress: 64,
      connectTimeoutMs: 5000,
    });
  });

  it("closes the connection beyond maxPendingConnections, keeps the idle ones, and admits a client once one leaves", async () => {
    const { broker } = await start({ maxPendingConnections: 3, connectTimeoutMs: 60_000 });
    const idle = [await raw(broker), await raw(broker), await raw(broker)];
    await waitFor(() => broker.counters.pending === 3, "three pending connections");
    const extra = await raw(broker);
    await extra.closed;
    expect(broker.counters.refusedPending).toBe(1);
    expect(idle.map((c) => c.isClosed)).toEqual([false, false, false]);

    idle[0]?.socket.destroy();
    await waitFor(() => broker.counters.pending === 2, "a free slot");
    const client = await mqttClient(broker, A);
    expect(client.connected).toBe(true);
    await waitFor(() => broker.counters.pending === 2, "the client no longer pending");
  });

  it("bounds unauthenticated connections per source address: another loopback address still gets in", async () => {
    const { broker } = await start({
      maxPendingConnections: 10,
      maxPendingPerAddress: 2,
      connectTimeoutMs: 60_000,
    });
    const first = [await raw(broker), await raw(broker)];
    await waitFor(() => broker.counters.pending === 2, "two pending connections");
    const third = await raw(broker);
    await third.closed;
    const elsewhere = await raw(broker, "127.0.0.2");
    await waitFor(() => broker.counters.pending === 3, "the other address's connection");
    expect(elsewhere.isClosed).toBe(false);
    expect(first.map((c) => c.isClosed)).toEqual([false, false]);
    expect(broker.counters.refusedPending).toBe(1);
  });

  it("stops counting a connection once it is admitted, so admitted clients never block new ones", async () => {
    const { broker } = await start({ maxPendingConnections: 1, maxPendingPerAddress: 1 });
    for (const id of [A, B, C]) await mqttClient(broker, id);
    await waitFor(() => broker.counters.pending === 0, "no pending connection");
    expect(broker.counters.refusedPending).toBe(0);
  });

  it("closes a socket that never sends CONNECT after connectTimeoutMs", async () => {
    const connectTimeoutMs = 300;
    const { broker } = await start({ connectTimeoutMs });
    const started = performance.now();
    const conn = await raw(broker);
    await conn.closed;
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(connectTimeoutMs - 50);
    expect(elapsed).toBeLessThan(10_000); // aedes' own default is 30 s
    expect(broker.counters.connectTimeouts).toBe(1);
    await waitFor(() => broker.counters.pending === 0, "the broker's side of the close");
  });

  it("closes a socket that sends half a CONNECT and stalls, after connectTimeoutMs", async () => {
    const { broker } = await start({ connectTimeoutMs: 300 });
    const conn = await raw(broker);
    const full = connectPacket(A, A, password(A));
    conn.socket.write(full.subarray(0, full.length >> 1));
    await conn.closed;
    expect(conn.received().length).toBe(0);
    expect(broker.counters.connectTimeouts).toBe(1);
  });
});

// --- legitimate clients -----------------------------------------------------------------------

describe("embedded broker limits: legitimate clients", () => {
  it("holds what a client sends right after its CONNECT until the CONNACK, then serves it in order", async () => {
    const { broker, prefix } = await start();
    const conn = await raw(broker);
    conn.socket.write(
      Buffer.concat([
        connectPacket(A, A, password(A)),
        subscribePacket(7, inboxTopic(prefix, CLUSTER, A), 1),
        PINGREQ,
      ]),
    );
    const reply = await conn.bytes(4 + 5 + 2);
    expect([...reply.subarray(0, 4)]).toEqual([0x20, 0x02, 0x00, 0x00]); // the CONNACK first
    // The SUBACK waits for an asynchronous ACL check, so it may come after the PINGRESP.
    const packets = splitPackets(reply.subarray(4)).map((p) => [...p]);
    expect(packets.sort((x, y) => (x[0] as number) - (y[0] as number))).toEqual([
      [0x90, 0x03, 0x00, 0x07, 0x01],
      [0xd0, 0x00],
    ]);
  });

  it("serves packets after the CONNACK however TCP splits them: a SUBSCRIBE and a PINGREQ one byte at a time", async () => {
    const { broker, prefix } = await start();
    const conn = await raw(broker);
    conn.socket.setNoDelay(true);
    conn.socket.write(connectPacket(A, A, password(A)));
    expect([...(await conn.bytes(4))]).toEqual([0x20, 0x02, 0x00, 0x00]);
    for (const byte of Buffer.concat([subscribePacket(9, inboxTopic(prefix, CLUSTER, A), 1), PINGREQ])) {
      await new Promise<void>((resolve, reject) =>
        conn.socket.write(Buffer.from([byte]), (err) => (err ? reject(err) : resolve())),
      );
    }
    const reply = await conn.bytes(4 + 5 + 2);
    // The SUBACK waits for an asynchronous ACL check, so it may come after the PINGRESP.
    const packets = splitPackets(reply.subarray(4)).map((p) => [...p]);
    expect(packets.sort((x, y) => (x[0] as number) - (y[0] as number))).toEqual([
      [0x90, 0x03, 0x00, 0x09, 0x01],
      [0xd0, 0x00],
    ]);
  });

  it("connects a client whose CONNECT arrives one byte at a time", async () => {
    const { broker } = await start();
    const conn = await raw(broker);
    conn.socket.setNoDelay(true);
    for (const byte of connectPacket(A, A, password(A))) {
      await new Promise<void>((resolve, reject) =>
        conn.socket.write(Buffer.from([byte]), (err) => (err ? reject(err) : resolve())),
      );
    }
    expect([...(await conn.bytes(4))]).toEqual([0x20, 0x02, 0x00, 0x00]);
  });
});
