/**
 * One shared suite, run against both brokers (STYLE.md: one suite per interface): the embedded
 * aedes broker (with its ACL hooks on) and the machine's Mosquitto on 127.0.0.1:1883.
 */
import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  type EmbeddedBroker,
  startEmbeddedBroker,
} from "../../../services/cluster-head/broker/embedded-broker";
import { MqttTransport, type MqttTransportOptions } from "../../../transport/mqtt/client";
import { inboxTopic } from "../../../transport/mqtt/topics";
import {
  MACHINE_MOSQUITTO,
  randomDeviceId,
  randomPrefix,
  requireMachineMosquitto,
  waitFor,
} from "../../../testkit/brokers";

const CLUSTER = 7;

interface BrokerUnderTest {
  url: string;
  prefix: string;
  close(): Promise<void>;
}

const brokers: Array<[string, () => Promise<BrokerUnderTest>]> = [
  [
    "aedes (embedded)",
    async () => {
      const prefix = randomPrefix();
      const b: EmbeddedBroker = await startEmbeddedBroker({
        topicPrefix: prefix,
        authenticate: async (username, password) =>
          password.toString() === `pw-${username}`
            ? { kind: "device", deviceId: username, clusterId: CLUSTER }
            : undefined,
        mayPublishTo: () => true,
      });
      return { url: b.url, prefix, close: () => b.close() };
    },
  ],
  [
    "mosquitto (127.0.0.1:1883)",
    async () => {
      await requireMachineMosquitto();
      return {
        url: `mqtt://${MACHINE_MOSQUITTO.host}:${MACHINE_MOSQUITTO.port}`,
        prefix: randomPrefix(),
        close: async () => {},
      };
    },
  ],
];

describe.each(brokers)("MQTT transport through %s", (_name, start) => {
  let broker: BrokerUnderTest;
  const open: MqttTransport[] = [];
  const usedIds = new Set<string>();

  beforeAll(async () => {
    broker = await start();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((t) => t.close(true)));
    // Drop the persistent sessions this test left on the broker (clean session discards them).
    await Promise.all(
      [...usedIds].map(async (id) => {
        const t = await MqttTransport.connect(broker.url, {
          ...creds(id),
          clean: true,
          reconnectPeriodMs: 0,
        });
        await t.close();
      }),
    );
    usedIds.clear();
  });
  afterAll(async () => {
    await broker?.close();
  });

  function creds(deviceId: string): MqttTransportOptions {
    return { clientId: deviceId, username: deviceId, password: Buffer.from(`pw-${deviceId}`) };
  }

  async function device(deviceId = randomDeviceId(), extra: Partial<MqttTransportOptions> = {}) {
    usedIds.add(deviceId);
    const t = await MqttTransport.connect(broker.url, {
      ...creds(deviceId),
      reconnectPeriodMs: 100,
      ...extra,
    });
    open.push(t);
    const received: Array<{ topic: string; payload: Buffer }> = [];
    t.on("message", (topic, payload) => received.push({ topic, payload }));
    return { id: deviceId, t, received, inbox: inboxTopic(broker.prefix, CLUSTER, deviceId) };
  }

  it("delivers a QoS 1 binary frame intact (every byte value, 4 KiB random)", async () => {
    const a = await device();
    const b = await device();
    await b.t.subscribe([b.inbox]);
    const frames = [
      Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
      randomBytes(4096),
      Buffer.alloc(0),
    ];
    for (const f of frames) await a.t.publish(b.inbox, f);
    await waitFor(() => b.received.length === frames.length, "three frames");
    expect(b.received.map((m) => m.topic)).toEqual(frames.map(() => b.inbox));
    b.received.forEach((m, i) => expect(m.payload.equals(frames[i] as Buffer)).toBe(true));
  });

  it("holds the next messages while the subscriber's gate is closed, and delivers every one once it opens", async () => {
    const a = await device();
    const b = await device();
    await b.t.subscribe([b.inbox]);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    b.t.holdIncomingWhile(() => (b.received.length === 1 ? gate : undefined));
    for (let i = 0; i < 5; i++) await a.t.publish(b.inbox, Buffer.from([i]));
    await waitFor(() => b.received.length === 1, "the first message");
    // The broker has them all (each PUBACKed to a); b takes no more while its gate is closed.
    await new Promise((r) => setTimeout(r, 200));
    expect(b.received).toHaveLength(1);
    open();
    await waitFor(() => b.received.length === 5, "the held messages");
    expect(b.received.map((m) => m.payload[0])).toEqual([0, 1, 2, 3, 4]);
  });

  it("sends no PUBACK for a message its gate refuses: the broker delivers it again on the next connection", async () => {
    const a = await device();
    const bId = randomDeviceId();
    const b1 = await device(bId, {
      holdIncomingWhile: () => Promise.reject(new Error("closing")),
    });
    await b1.t.subscribe([b1.inbox]);
    await a.t.publish(b1.inbox, Buffer.from([0xab]));
    await waitFor(() => b1.received.length === 1, "the refused message");
    await b1.t.close(true);
    const b2 = await device(bId);
    await waitFor(() => b2.received.length === 1, "the message again");
    expect(b2.received[0]!.payload[0]).toBe(0xab);
  });

  it("holds for a third of the keepalive at most, then takes the next messages at once", async () => {
    const a = await device();
    const b = await device(randomDeviceId(), { keepaliveSec: 3 });
    await b.t.subscribe([b.inbox]);
    b.t.holdIncomingWhile(() => new Promise<void>(() => undefined)); // a gate that never opens
    const start = Date.now();
    for (let i = 0; i < 5; i++) await a.t.publish(b.inbox, Buffer.from([i]));
    await waitFor(() => b.received.length === 5, "all five after the cap", 5000);
    const took = Date.now() - start;
    // The first message is held for the cap (1 s of a 3 s keepalive); the rest follow at once.
    expect(took).toBeGreaterThanOrEqual(900);
    expect(b.received.map((m) => m.payload[0])).toEqual([0, 1, 2, 3, 4]);
  });

  it("queues QoS 1 frames while the subscriber is offline (clean: false) and delivers each exactly once", async () => {
    const a = await device();
    const bId = randomDeviceId();
    const b1 = await device(bId);
    await b1.t.subscribe([b1.inbox]);
    await b1.t.close();
    const frames = [0, 1, 2].map((i) => Buffer.from([0xf0, i]));
    for (const f of frames) await a.t.publish(b1.inbox, f); // PUBACKed by the broker while b is offline

    const b2 = await device(bId);
    await waitFor(() => b2.received.length >= frames.length, "queued frames");
    // A sentinel published afterwards arrives after any duplicate of the queued ones would.
    await a.t.publish(b2.inbox, Buffer.from([0xff]));
    await waitFor(() => b2.received.some((m) => m.payload[0] === 0xff), "sentinel");
    expect(b2.received.map((m) => m.payload.toString("hex"))).toEqual(["f000", "f001", "f002", "ff"]);
  });

  it("re-subscribes after a reconnect where the broker lost the session", async () => {
    const a = await device();
    const bId = randomDeviceId();
    const b = await device(bId);
    await b.t.subscribe([b.inbox]);
    const resubscribed = new Promise<string[]>((resolve) => b.t.once("resubscribed", resolve));
    const sessions: boolean[] = [];
    b.t.on("connect", (info) => sessions.push(info.sessionPresent));
    // Another connection with b's client ID and clean: true takes over and discards b's session.
    const intruder = await MqttTransport.connect(broker.url, {
      ...creds(bId),
      clean: true,
      reconnectPeriodMs: 0,
    });
    await intruder.close();
    expect(await resubscribed).toEqual([b.inbox]);
    expect(sessions).toContain(false);
    await a.t.publish(b.inbox, Buffer.from("after"));
    await waitFor(() => b.received.length === 1, "frame after resubscription");
    expect(b.received[0]?.payload.toString()).toBe("after");
  });

  it("quick check: 500 pipelined QoS 1 frames of 256 B all arrive", async () => {
    const a = await device();
    const b = await device();
    await b.t.subscribe([b.inbox]);
    const n = 500; // below Mosquitto's default max_queued_messages (1000): see TOOLCHAIN.md
    const payload = randomBytes(256);
    const t0 = performance.now();
    await Promise.all(Array.from({ length: n }, () => a.t.publish(b.inbox, payload)));
    await waitFor(() => b.received.length === n, `${n} frames`, 30_000);
    const secs = (performance.now() - t0) / 1000;
    console.log(`[${_name}] ${n} QoS 1 frames x 256 B end to end: ${Math.round(n / secs)} msg/s`);
    expect(b.received.length).toBe(n);
  });
});
