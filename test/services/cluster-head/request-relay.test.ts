/**
 * Session set-up through the head (services/cluster-head/request-relay.ts), on real parts: a
 * hardhat chain, a real head with its embedded broker, SDK devices, and raw MQTT clients that
 * connect with a member's real broker credential to try what the SDK never sends.
 */
import mqtt, { type MqttClient } from "mqtt";
import type { Counter } from "prom-client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Device } from "../../../device/sdk";
import {
  brokerPassword,
  createGrantRequest,
  createSessionRequest,
  decodeSessionAnswer,
  fromHex,
  type Membership,
  MessageSize,
  MessageType,
  PROTOCOL_VERSION,
  SessionAnswerKind,
} from "../../../protocol";
import type { EmbeddedBroker } from "../../../services/cluster-head/broker/embedded-broker";
import { mqttGrantDelivery } from "../../../services/cluster-head/broker/grant-delivery";
import { DEFAULT_RELAY_LIMITS } from "../../../services/cluster-head/request-relay";
import { decodeEnvelope, encodeSetupPayload } from "../../../transport/mqtt/envelope";
import { ctlTopic, inboxTopic, setupTopic } from "../../../transport/mqtt/topics";
import { randomDeviceId } from "../../../testkit/brokers";
import { startTestChain, type TestChain } from "../../../testkit/chain";
import { joinedDevice, nextEvent, waitUntil } from "../../../testkit/device";
import { startTestHead, type TestHead } from "../../../testkit/head";

let chain: TestChain;
let head: TestHead;
let embedded: EmbeddedBroker;
let a: Device;
let b: Device;
/** Members that are never connected through the SDK: raw clients use their credential. */
let r: Device;
let v: Device;
const memberships = new Map<string, Membership>();
const raws: MqttClient[] = [];

beforeAll(async () => {
  chain = await startTestChain();
  head = await startTestHead(chain);
  embedded = head.broker.embedded!;
  const devices = await Promise.all([0, 1, 2, 3].map(() => joinedDevice(head, { grantTimeoutMs: 5000 })));
  [a, b, r, v] = devices as [Device, Device, Device, Device];
  await a.connect();
  await b.connect();
  // Kept before any revocation: the head forgets a revoked member's record.
  for (const d of [a, b, r, v])
    memberships.set(d.deviceId, head.context.members.getByDevice(d.deviceId)!.membership);
}, 60_000);

afterEach(async () => {
  await Promise.all(raws.splice(0).map((c) => c.endAsync(true)));
});

afterAll(async () => {
  for (const d of [a, b, r, v]) await d?.close();
  await head?.destroy();
  await chain?.stop();
});

interface Raw {
  client: MqttClient;
  inbox: Buffer[];
  closed: Promise<void>;
  /** Publishes `payload` on `topic` (default: its own set-up topic) and waits for the PUBACK. */
  setup(payload: Uint8Array, topic?: string): Promise<void>;
}

/** A raw MQTT.js connection as member `d`, subscribed to its inbox, never reconnecting. */
async function rawMember(d: Device): Promise<Raw> {
  const client = await mqtt.connectAsync(head.brokerUrl, {
    protocolVersion: 4,
    clientId: d.deviceId,
    username: d.deviceId,
    password: brokerPassword(memberships.get(d.deviceId)!),
    clean: true,
    reconnectPeriod: 0,
  });
  raws.push(client);
  const inbox: Buffer[] = [];
  client.on("message", (_topic, payload) => inbox.push(payload));
  await client.subscribeAsync(inboxTopic(prefix(), head.clusterId, d.deviceId), { qos: 1 });
  const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
  return {
    client,
    inbox,
    closed,
    setup: async (payload, topic = setupTopic(prefix(), head.clusterId, d.deviceId)) => {
      await client.publishAsync(topic, Buffer.from(payload), { qos: 1 });
    },
  };
}

const prefix = () => head.context.config.topicPrefix;
const requestFrom = (from: Device, to: string) =>
  createSessionRequest({
    membership: memberships.get(from.deviceId)!,
    clusterId: head.clusterId,
    peerId: fromHex(to),
    now: Date.now(),
  }).message;
const setupFor = (target: string, message: Uint8Array) => encodeSetupPayload(fromHex(target), message);

async function count(counter: Counter<string>, labels: Record<string, string>): Promise<number> {
  const { values } = await counter.get();
  return values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value ?? 0;
}
const relayed = (type: "session_request" | "grant") => count(head.context.metrics.setupRelayed, { type });
const dropped = (reason: string) => count(head.context.metrics.setupDropped, { reason });

/** Publishes as the broker itself would (a compromised broker, or one without ACLs): no hook runs. */
function inject(topic: string, payload: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) =>
    embedded.broker.publish(
      {
        cmd: "publish",
        topic,
        payload: Buffer.from(payload),
        qos: 1,
        retain: false,
        dup: false,
        messageId: 0,
      },
      (error?: Error) => (error ? reject(error) : resolve()),
    ),
  );
}

describe("session set-up relayed by the head, embedded broker", () => {
  /** Opens a session a → b through the SDK and sends one frame; returns the publishes seen, by whom. */
  async function openAndSend(text: string): Promise<{ topic: string; from: string }[]> {
    const seen: { topic: string; from: string | undefined }[] = [];
    const tap = (packet: { topic: string }, client: { id: string } | null) => {
      if (packet.topic.startsWith(`${prefix()}/`)) seen.push({ topic: packet.topic, from: client?.id });
    };
    embedded.broker.on("publish", tap);
    try {
      const openedAtB = nextEvent<{ peerId: string; role: string }>(b, "session-opened");
      await a.openSession(b.deviceId);
      expect(await openedAtB).toMatchObject({ peerId: a.deviceId, role: "responder" });
      const atB = nextEvent<{ data: Uint8Array }>(b, "message");
      await a.send(b.deviceId, text);
      expect(new TextDecoder().decode((await atB).data)).toBe(text);
    } finally {
      embedded.broker.off("publish", tap);
    }
    const headClient = (id: string | undefined) => id !== undefined && id.startsWith("iotguard-head");
    // Without a client, the publish is the embedded broker's own: only the head's code, in its process.
    return seen.map((x) => ({
      topic: x.topic,
      from:
        x.from === a.deviceId
          ? "a"
          : x.from === b.deviceId
            ? "b"
            : headClient(x.from)
              ? "head"
              : x.from === undefined
                ? "head, in process"
                : String(x.from),
    }));
  }
  const deliveries = (outcome: string) => count(head.context.metrics.grantDeliveries, { outcome });

  it("opens a session end to end: a publishes its request on its own set-up topic, the head puts it in b's inbox and delivers a's Grant on a's ctl topic itself", async () => {
    const droppedBefore = embedded.counters.droppedPublishes;
    const [requests, grants, direct] = [
      await relayed("session_request"),
      await relayed("grant"),
      await deliveries("direct"),
    ];
    const seen = await openAndSend("through the relay");
    const c = head.clusterId;
    expect(seen.slice(0, 3)).toEqual([
      { topic: setupTopic(prefix(), c, a.deviceId), from: "a" },
      { topic: inboxTopic(prefix(), c, b.deviceId), from: "head" },
      { topic: ctlTopic(prefix(), c, a.deviceId), from: "head, in process" },
    ]);
    // b publishes nothing: its answer carried only its own Grant. The only inbox write by a device
    // is a's channel frame, after the session exists.
    expect(seen.filter((x) => x.from === "b")).toEqual([]);
    expect(seen.filter((x) => x.from !== "head" && x.topic.endsWith("/inbox"))).toEqual([
      { topic: inboxTopic(prefix(), c, b.deviceId), from: "a" },
    ]);
    expect(await relayed("session_request")).toBe(requests + 1);
    expect(await relayed("grant")).toBe(grants);
    expect(await deliveries("direct")).toBe(direct + 1);
    expect(embedded.counters.droppedPublishes).toBe(droppedBefore);
  });

  it("falls back to the relay when the head cannot publish a's Grant: b gets both Grants and forwards a's through its set-up topic", async () => {
    const [grants, offline] = [await relayed("grant"), await deliveries("offline")];
    const live = head.context.grantDelivery;
    // The head's client as seen while the broker connection is down (the rest is real).
    const client = head.broker.client;
    head.context.grantDelivery = mqttGrantDelivery(
      { connected: false, publish: (t, p) => client.publish(t, p) },
      prefix(),
      head.clusterId,
      undefined,
      (outcome) => head.context.metrics.grantDeliveries.inc({ outcome }),
    );
    let seen: { topic: string; from: string }[];
    try {
      seen = await openAndSend("relayed grant");
    } finally {
      head.context.grantDelivery = live;
    }
    const c = head.clusterId;
    expect(seen.slice(0, 4)).toEqual([
      { topic: setupTopic(prefix(), c, a.deviceId), from: "a" },
      { topic: inboxTopic(prefix(), c, b.deviceId), from: "head" },
      { topic: setupTopic(prefix(), c, b.deviceId), from: "b" },
      { topic: inboxTopic(prefix(), c, a.deviceId), from: "head" },
    ]);
    expect(seen.some((x) => x.topic.endsWith("/ctl"))).toBe(false);
    expect(await relayed("grant")).toBe(grants + 1);
    expect(await deliveries("offline")).toBe(offline + 1);
  });

  it("delivers the responder's first frames even when they overtake the Grant it forwarded through the head", async () => {
    const ROUNDS = 3;
    const got: string[] = [];
    const onMessage = (m: { data: Uint8Array }) => got.push(new TextDecoder().decode(m.data));
    // b answers the moment its session exists: its frame goes straight to a's inbox while the
    // Grant for a takes the longer way through the head's relay.
    const answer = (e: { role: string; sessionId: string }) => {
      if (e.role === "responder") void b.send(a.deviceId, `first on ${e.sessionId}`);
    };
    a.on("message", onMessage);
    b.on("session-opened", answer);
    const refusedBefore = a.stats.refused;
    try {
      const ids: string[] = [];
      for (let i = 0; i < ROUNDS; i++) ids.push((await a.openSession(b.deviceId)).sessionId);
      await waitUntil(() => got.length === ROUNDS, "b's first frame of every session");
      expect(got.sort()).toEqual(ids.map((id) => `first on ${id}`).sort());
      expect(a.stats.refused).toBe(refusedBefore);
    } finally {
      a.off("message", onMessage);
      b.off("session-opened", answer);
    }
  });

  it("refuses a device that publishes on another device's set-up topic (connection closed); the head relays nothing", async () => {
    const raw = await rawMember(r);
    const refusedBefore = embedded.counters.refusedPublishes;
    const before = await relayed("session_request");
    raw.client.publish(
      setupTopic(prefix(), head.clusterId, b.deviceId),
      Buffer.from(setupFor(a.deviceId, requestFrom(r, a.deviceId))),
      { qos: 1 },
    );
    await raw.closed;
    expect(embedded.counters.refusedPublishes).toBe(refusedBefore + 1);
    expect(await relayed("session_request")).toBe(before);
  });

  it("drops garbage, other message types, wrong sizes, requests to oneself and forged Grants; the sender stays connected", async () => {
    const raw = await rawMember(r);
    const reasons = ["malformed", "bad-type", "bad-size", "self", "unknown-grant"];
    const before = await Promise.all(reasons.map(dropped));
    const frameLike = Uint8Array.of(PROTOCOL_VERSION, MessageType.FRAME_I2R, ...new Uint8Array(40));
    const shortRequest = requestFrom(r, a.deviceId).subarray(0, MessageSize.SESSION_REQUEST - 1);
    const forgedGrant = new Uint8Array(MessageSize.GRANT);
    forgedGrant.set([PROTOCOL_VERSION, MessageType.GRANT, 1, 1]);
    await raw.setup(new Uint8Array(10));
    await raw.setup(setupFor(a.deviceId, frameLike));
    await raw.setup(setupFor(a.deviceId, shortRequest));
    await raw.setup(setupFor(r.deviceId, requestFrom(r, a.deviceId)));
    await raw.setup(setupFor(a.deviceId, forgedGrant));
    await waitUntil(async () => (await dropped("unknown-grant")) === before[4]! + 1, "the five drops");
    expect(await Promise.all(reasons.map(dropped))).toEqual(before.map((n) => n + 1));
    expect(raw.client.connected).toBe(true);
  });

  it("relays a Grant only from the responder of a session the head granted, to its initiator, and only once", async () => {
    const raw = await rawMember(r);
    const grantsBefore = await relayed("grant");
    const unknownBefore = await dropped("unknown-grant");
    const opened = a.openSession(r.deviceId);
    await waitUntil(() => raw.inbox.length > 0, "a's SessionRequest in r's inbox");
    const envelope = decodeEnvelope(raw.inbox[0]!);
    expect(envelope).toMatchObject({ senderId: a.deviceId, type: MessageType.SESSION_REQUEST });
    const { message } = createGrantRequest({
      membership: memberships.get(r.deviceId)!,
      clusterId: head.clusterId,
      peerId: fromHex(a.deviceId),
      sessionRequest: envelope.message,
      now: Date.now(),
    });
    const answer = decodeSessionAnswer(
      new Uint8Array(await (await head.post("/v1/sessions", message)).arrayBuffer()),
    );
    if (answer.kind !== SessionAnswerKind.GRANT) throw new Error(`expected a grant, got ${answer.kind}`);
    // Not a Grant for b (b is not the session's initiator), nor our own copy (role responder).
    await raw.setup(setupFor(b.deviceId, answer.toInitiator));
    await raw.setup(setupFor(a.deviceId, answer.toResponder));
    await raw.setup(setupFor(a.deviceId, answer.toInitiator));
    await opened; // a accepted the relayed Grant
    await raw.setup(setupFor(a.deviceId, answer.toInitiator)); // once only
    await waitUntil(
      async () => (await dropped("unknown-grant")) === unknownBefore + 3,
      "three refused Grants",
    );
    expect(await relayed("grant")).toBe(grantsBefore + 1);
  });

  it("relays within milliseconds: no hop waits for a delayed TCP ACK (Nagle's algorithm off on both sides)", async () => {
    const ROUNDS = 20;
    const sender = await rawMember(r);
    const target = await rawMember(v);
    const hops: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const arrived = new Promise((resolve) => target.client.once("message", resolve));
      const started = performance.now();
      await sender.setup(setupFor(v.deviceId, requestFrom(r, v.deviceId)));
      await arrived;
      hops.push(performance.now() - started);
    }
    hops.sort((x, y) => x - y);
    const [p50, p90] = [hops[ROUNDS / 2]!, hops[Math.floor(ROUNDS * 0.9)]!];
    console.log(`set-up relay, publish to delivery: p50 ${p50.toFixed(1)} ms, p90 ${p90.toFixed(1)} ms`);
    // A PUBACK followed by a PUBLISH on one Nagle socket waits for the peer's delayed ACK (≥ 40 ms on Linux).
    expect(p50).toBeLessThan(30);
  });

  it("drops a set-up message whose target is not a member, and one from a revoked member even if a broker lets it through", async () => {
    const raw = await rawMember(r);
    const revokedRaw = await rawMember(v);
    const [targetBefore, senderBefore] = [
      await dropped("target-not-member"),
      await dropped("sender-not-member"),
    ];
    const stranger = randomDeviceId();
    await raw.setup(setupFor(stranger, requestFrom(r, stranger)));
    await waitUntil(
      async () => (await dropped("target-not-member")) === targetBefore + 1,
      "the stranger drop",
    );

    expect((await head.operator("POST", `/v1/devices/${v.deviceId}/revoke`)).status).toBe(200);
    await waitUntil(
      () => head.context.members.getByDevice(v.deviceId) === undefined,
      "v's membership to end",
    );
    // The embedded broker refuses a revoked device's publish itself ...
    revokedRaw.client.publish(
      setupTopic(prefix(), head.clusterId, v.deviceId),
      Buffer.from(setupFor(b.deviceId, requestFrom(v, b.deviceId))),
      { qos: 1 },
    );
    await revokedRaw.closed;
    // ... and the relay checks again, for brokers that would not: a revoked sender, a non-member
    // sender and a revoked target.
    await inject(
      setupTopic(prefix(), head.clusterId, v.deviceId),
      setupFor(b.deviceId, requestFrom(v, b.deviceId)),
    );
    await inject(
      setupTopic(prefix(), head.clusterId, stranger),
      setupFor(b.deviceId, requestFrom(v, b.deviceId)),
    );
    await raw.setup(setupFor(v.deviceId, requestFrom(r, v.deviceId)));
    await waitUntil(
      async () => (await dropped("sender-not-member")) === senderBefore + 2,
      "the two sender drops",
    );
    await waitUntil(
      async () => (await dropped("target-not-member")) === targetBefore + 2,
      "the revoked-target drop",
    );
  });

  it("rate-limits a flood of SessionRequests from one sender, counting the drops, while another sender's request still gets through", async () => {
    const FLOOD = 200;
    const raw = await rawMember(r);
    const [relayedBefore, limitedBefore] = [await relayed("session_request"), await dropped("rate-limited")];
    const started = Date.now();
    await Promise.all(
      Array.from({ length: FLOOD }, () => raw.setup(setupFor(b.deviceId, requestFrom(r, b.deviceId)))),
    );
    const openedByA = a.openSession(b.deviceId);
    await waitUntil(
      async () =>
        (await relayed("session_request")) -
          relayedBefore +
          (await dropped("rate-limited")) -
          limitedBefore ===
        FLOOD + 1,
      "every flooded request relayed or dropped",
    );
    const elapsed = Date.now() - started;
    await openedByA;
    const limited = (await dropped("rate-limited")) - limitedBefore;
    const allowed =
      DEFAULT_RELAY_LIMITS.requestBurst + Math.ceil(elapsed / DEFAULT_RELAY_LIMITS.requestRefillMs);
    expect(limited).toBeGreaterThanOrEqual(FLOOD - allowed);
    expect((await relayed("session_request")) - relayedBefore).toBe(FLOOD + 1 - limited);
    expect(raw.client.connected).toBe(true);
  });
});
