/**
 * The embedded broker's authentication and topic ACLs, tried with real MQTT.js clients
 * (MQTT 3.1.1). Every rule is tried and refused; what aedes really does on a refusal is asserted.
 */
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  DROPPED_TOPIC,
  type EmbeddedBroker,
  EmbeddedBrokerConfigError,
  type Principal,
  startEmbeddedBroker,
} from "../../../../services/cluster-head/broker/embedded-broker";
import { MqttTransport, MqttTransportError } from "../../../../transport/mqtt/client";
import {
  clusterFilter,
  ctlTopic,
  headInTopic,
  inboxTopic,
  setupTopic,
  setupTopicFilter,
  warnTopic,
} from "../../../../transport/mqtt/topics";
import { randomDeviceId, randomPrefix, waitFor } from "../../../../testkit/brokers";

const CLUSTER = 7;
const OTHER_CLUSTER = 8;
const prefix = randomPrefix();
const [A, B, C, OUTSIDER] = [randomDeviceId(), randomDeviceId(), randomDeviceId(), randomDeviceId()] as [
  string,
  string,
  string,
  string,
];
const HEAD_USER = "head-7";
const password = (user: string): Buffer => Buffer.from(`secret:${user}`);

/** Credential table the injected hook consults; OUTSIDER belongs to another cluster. */
const principals = new Map<string, Principal>([
  [A, { kind: "device", deviceId: A, clusterId: CLUSTER }],
  [B, { kind: "device", deviceId: B, clusterId: CLUSTER }],
  [C, { kind: "device", deviceId: C, clusterId: CLUSTER }],
  [OUTSIDER, { kind: "device", deviceId: OUTSIDER, clusterId: OTHER_CLUSTER }],
  [HEAD_USER, { kind: "head", clusterId: CLUSTER }],
]);
const sessions = new Set<string>([`${A}>${C}`]); // A holds a session with C only
const revoked = new Set<string>();
let hookFails = false;
const seenPasswords: Buffer[] = [];

let broker: EmbeddedBroker;
const clients: MqttClient[] = [];

beforeAll(async () => {
  broker = await startEmbeddedBroker({
    topicPrefix: prefix,
    authenticate: async (username, pw) => {
      seenPasswords.push(pw);
      if (hookFails) throw new Error("store down");
      return pw.equals(password(username)) ? principals.get(username) : undefined;
    },
    mayPublishTo: (from, to) => sessions.has(`${from}>${to}`),
    isCurrent: (id) => !revoked.has(id),
  });
});
afterEach(async () => {
  hookFails = false;
  revoked.clear();
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
});
afterAll(async () => {
  await broker.close();
});

interface Conn {
  client: MqttClient;
  received: Array<{ topic: string; payload: Buffer }>;
  closed: Promise<void>;
}

/** A raw MQTT.js client that never reconnects, so a broker-side close stays visible. */
async function connectAs(
  user: string | undefined,
  opts: { clientId?: string; pw?: Buffer } = {},
): Promise<Conn> {
  const client = await mqtt.connectAsync(broker.url, {
    protocolVersion: 4,
    clientId: opts.clientId ?? user ?? "anonymous",
    clean: true,
    reconnectPeriod: 0,
    ...(user === undefined ? {} : { username: user, password: opts.pw ?? password(user) }),
  });
  clients.push(client);
  const received: Conn["received"] = [];
  client.on("message", (topic, payload) => received.push({ topic, payload }));
  const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
  return { client, received, closed };
}

async function refusedCode(
  user: string | undefined,
  opts: { clientId?: string; pw?: Buffer } = {},
): Promise<number> {
  try {
    await connectAs(user, opts);
  } catch (err) {
    return (err as { code: number }).code;
  }
  throw new Error("connection was accepted");
}

async function granted(conn: Conn, topic: string, qos: 0 | 1 | 2 = 1): Promise<number> {
  // MQTT.js reports the requested QoS in its second argument on a refusal; the SUBACK is the third.
  return new Promise<number>((resolve) =>
    conn.client.subscribe(topic, { qos }, (_err, _subs, suback) =>
      resolve(Number(suback?.granted?.[0] ?? -1)),
    ),
  );
}

describe("embedded broker: configuration", () => {
  it("refuses port 1883 and missing hooks before listening", async () => {
    const hooks = { authenticate: async () => undefined, mayPublishTo: () => false };
    await expect(startEmbeddedBroker({ ...hooks, port: 1883 })).rejects.toBeInstanceOf(
      EmbeddedBrokerConfigError,
    );
    await expect(startEmbeddedBroker({ authenticate: hooks.authenticate } as never)).rejects.toThrow(
      /mayPublishTo/,
    );
    await expect(startEmbeddedBroker({ ...hooks, topicPrefix: "a/#" })).rejects.toThrow(/topicPrefix/);
  });

  it("listens on 127.0.0.1 on a free port", () => {
    expect(broker.port).toBeGreaterThan(0);
    expect(broker.port).not.toBe(1883);
    expect(broker.url).toBe(`mqtt://127.0.0.1:${broker.port}`);
  });
});

describe("embedded broker: authenticate", () => {
  it("refuses a connection without credentials (return code 4) and never calls the hook", async () => {
    const before = seenPasswords.length;
    const refusedBefore = broker.counters.refusedAuth;
    expect(await refusedCode(undefined)).toBe(4);
    expect(seenPasswords.length).toBe(before);
    expect(broker.counters.refusedAuth).toBe(refusedBefore + 1);
  });

  it("refuses a wrong password and an unknown user (return code 4)", async () => {
    expect(await refusedCode(A, { pw: Buffer.from("wrong") })).toBe(4);
    expect(await refusedCode(randomDeviceId())).toBe(4);
  });

  it("refuses a device whose client ID is not its device ID, and a head using a device-shaped ID (return code 2)", async () => {
    expect(await refusedCode(A, { clientId: "not-the-device-id" })).toBe(2);
    expect(await refusedCode(HEAD_USER, { clientId: B })).toBe(2);
  });

  it("refuses with return code 3 when the hook fails (fail closed)", async () => {
    hookFails = true;
    expect(await refusedCode(A)).toBe(3);
  });

  it("surfaces refusals through MqttTransport as E_BROKER_REFUSED with the return code", async () => {
    const err = await MqttTransport.connect(broker.url, {
      clientId: A,
      username: A,
      password: Buffer.from("wrong"),
      reconnectPeriodMs: 0,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MqttTransportError);
    expect(err).toMatchObject({ code: "E_BROKER_REFUSED", returnCode: 4 });
    expect(String((err as Error).message)).not.toContain("wrong");
  });

  it("lets a second connection with the same device ID take over the first", async () => {
    const first = await connectAs(A);
    await connectAs(A);
    await first.closed;
  });
});

describe("embedded broker: authorizeSubscribe", () => {
  it("grants a device its own inbox, warn and ctl topics", async () => {
    const a = await connectAs(A);
    for (const t of [
      inboxTopic(prefix, CLUSTER, A),
      warnTopic(prefix, CLUSTER, A),
      ctlTopic(prefix, CLUSTER, A),
    ]) {
      expect(await granted(a, t)).toBe(1);
    }
  });

  it("refuses another device's topics, wildcards, the head's topic, foreign and unknown topics (granted 128)", async () => {
    const a = await connectAs(A);
    const before = broker.counters.refusedSubscribes;
    const refused = [
      inboxTopic(prefix, CLUSTER, B),
      warnTopic(prefix, CLUSTER, B),
      "#",
      `${prefix}/#`,
      `${prefix}/c/${CLUSTER}/d/+/inbox`,
      `${prefix}/c/${CLUSTER}/d/${A}/+`,
      `${prefix}/c/${CLUSTER}/d/${A}/#`,
      `+/c/${CLUSTER}/d/${A}/inbox`,
      headInTopic(prefix, CLUSTER),
      inboxTopic(prefix, OTHER_CLUSTER, A),
      `${prefix}/c/${CLUSTER}/d/${A}/secret`,
      "$SYS/#",
      setupTopic(prefix, CLUSTER, A), // only the head reads set-up topics, even a device's own
      setupTopic(prefix, CLUSTER, B),
      setupTopicFilter(prefix, CLUSTER),
    ];
    for (const t of refused) expect(await granted(a, t), t).toBe(128);
    expect(broker.counters.refusedSubscribes).toBe(before + refused.length);
    expect(a.client.connected).toBe(true); // a refused SUBSCRIBE does not cost the connection
  });

  it("refuses subscriptions of a device that is no longer current", async () => {
    const a = await connectAs(A);
    revoked.add(A);
    expect(await granted(a, inboxTopic(prefix, CLUSTER, A))).toBe(128);
  });

  it("grants the head anything under its cluster, refuses other clusters and bare wildcards", async () => {
    const head = await connectAs(HEAD_USER);
    expect(await granted(head, clusterFilter(prefix, CLUSTER))).toBe(1);
    expect(await granted(head, headInTopic(prefix, CLUSTER))).toBe(1);
    expect(await granted(head, setupTopicFilter(prefix, CLUSTER))).toBe(1);
    expect(await granted(head, setupTopicFilter(prefix, OTHER_CLUSTER))).toBe(128);
    expect(await granted(head, clusterFilter(prefix, OTHER_CLUSTER))).toBe(128);
    expect(await granted(head, "#")).toBe(128);
    expect(await granted(head, `${prefix}/c/+/head/in`)).toBe(128);
  });

  it("never grants QoS 2: a QoS 2 subscription is refused (granted 128) for a device and for the head; QoS 0 and 1 are granted as asked", async () => {
    const a = await connectAs(A);
    const head = await connectAs(HEAD_USER);
    const before = broker.counters.refusedSubscribes;
    expect(await granted(a, inboxTopic(prefix, CLUSTER, A), 2)).toBe(128);
    expect(await granted(head, clusterFilter(prefix, CLUSTER), 2)).toBe(128);
    expect(broker.counters.refusedSubscribes).toBe(before + 2);
    expect(await granted(a, inboxTopic(prefix, CLUSTER, A), 0)).toBe(0);
    expect(await granted(a, inboxTopic(prefix, CLUSTER, A), 1)).toBe(1);
    expect(await granted(head, clusterFilter(prefix, CLUSTER), 0)).toBe(0);
    expect(a.client.connected && head.client.connected).toBe(true);
  });

  it("reports refusals through MqttTransport as E_SUBSCRIBE_REFUSED naming the topics", async () => {
    const t = await MqttTransport.connect(broker.url, {
      clientId: A,
      username: A,
      password: password(A),
      clean: true,
      reconnectPeriodMs: 0,
    });
    try {
      const bad = inboxTopic(prefix, CLUSTER, B);
      const err = await t.subscribe([inboxTopic(prefix, CLUSTER, A), bad]).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: "E_SUBSCRIBE_REFUSED", topics: [bad] });
      expect(t.subscriptions).toEqual([inboxTopic(prefix, CLUSTER, A)]);
    } finally {
      await t.close(true);
    }
  });
});

describe("embedded broker: authorizePublish", () => {
  /** The head watches the whole cluster: a frame that reached no subscriber did not reach it either. */
  async function setup() {
    const head = await connectAs(HEAD_USER);
    expect(await granted(head, clusterFilter(prefix, CLUSTER))).toBe(1);
    const a = await connectAs(A);
    const b = await connectAs(B);
    const c = await connectAs(C);
    for (const [conn, id] of [
      [b, B],
      [c, C],
    ] as const)
      expect(await granted(conn, inboxTopic(prefix, CLUSTER, id))).toBe(1);
    return { head, a, b, c };
  }

  it("delivers to a session peer's inbox and to the cluster's head/in", async () => {
    const { head, a, c } = await setup();
    await a.client.publishAsync(inboxTopic(prefix, CLUSTER, C), Buffer.from([1, 2, 3]), { qos: 1 });
    await a.client.publishAsync(headInTopic(prefix, CLUSTER), Buffer.from([4]), { qos: 1 });
    await waitFor(() => c.received.length === 1 && head.received.length === 2, "deliveries");
    expect(c.received[0]?.payload).toEqual(Buffer.from([1, 2, 3]));
    expect(head.received.map((m) => m.topic)).toEqual([
      inboxTopic(prefix, CLUSTER, C),
      headInTopic(prefix, CLUSTER),
    ]);
  });

  it("acknowledges but drops a frame to a peer without a session: nobody receives it, the sender stays connected", async () => {
    const { head, a, b, c } = await setup();
    const before = broker.counters.droppedPublishes;
    // publishAsync at QoS 1 resolves only on PUBACK: the broker acknowledged the frame.
    await a.client.publishAsync(inboxTopic(prefix, CLUSTER, B), Buffer.from("no session"), { qos: 1 });
    // A sentinel through the same broker to the same observer arrives after the dropped frame would have.
    await a.client.publishAsync(inboxTopic(prefix, CLUSTER, C), Buffer.from("sentinel"), { qos: 1 });
    await waitFor(() => c.received.length === 1 && head.received.length === 1, "sentinel");
    expect(b.received).toEqual([]);
    expect(head.received.map((m) => m.payload.toString())).toEqual(["sentinel"]);
    expect(a.client.connected).toBe(true);
    expect(broker.counters.droppedPublishes).toBe(before + 1);
  });

  it("delivers a device's publish on its own set-up topic to the head, and to no device", async () => {
    const { head, a, b, c } = await setup();
    const payload = Buffer.concat([Buffer.from(B, "hex"), Buffer.from([1, 0x10, 3])]);
    await a.client.publishAsync(setupTopic(prefix, CLUSTER, A), payload, { qos: 1 });
    await waitFor(() => head.received.length === 1, "the set-up message at the head");
    expect(head.received[0]).toEqual({ topic: setupTopic(prefix, CLUSTER, A), payload });
    expect([...b.received, ...c.received]).toEqual([]);
    expect(a.client.connected).toBe(true);
  });

  it.each([
    ["a retained frame to a session peer", (p: string) => inboxTopic(p, CLUSTER, C), true],
    ["a set-up message on another device's set-up topic", (p: string) => setupTopic(p, CLUSTER, B), false],
    ["a set-up message on a session peer's set-up topic", (p: string) => setupTopic(p, CLUSTER, C), false],
    ["a retained set-up message on its own set-up topic", (p: string) => setupTopic(p, CLUSTER, A), true],
    [
      "a set-up message on its set-up topic of another cluster",
      (p: string) => setupTopic(p, OTHER_CLUSTER, A),
      false,
    ],
    ["a frame to a peer's warn topic", (p: string) => warnTopic(p, CLUSTER, C), false],
    ["a frame to a peer's ctl topic", (p: string) => ctlTopic(p, CLUSTER, C), false],
    ["a frame to its own inbox", (p: string) => inboxTopic(p, CLUSTER, A), false],
    ["a frame to another cluster's head", (p: string) => headInTopic(p, OTHER_CLUSTER), false],
    ["a frame to an unknown topic", (p: string) => `${p}/c/${CLUSTER}/broadcast`, false],
    ["a frame outside the prefix", (_p: string) => "elsewhere/x", false],
    ["a frame to $SYS", (_p: string) => "$SYS/broker/x", false],
    ["a frame to the drop topic", (_p: string) => DROPPED_TOPIC, false],
  ])("closes the connection of a device publishing %s; nobody receives it", async (_what, topic, retain) => {
    const { head, a, c } = await setup();
    const before = broker.counters.refusedPublishes;
    a.client.publish(topic(prefix), Buffer.from("forbidden"), { qos: 1, retain });
    await a.closed;
    await c.client.publishAsync(headInTopic(prefix, CLUSTER), Buffer.from("sentinel"), { qos: 1 });
    await waitFor(() => head.received.length === 1, "sentinel");
    expect(head.received[0]?.payload.toString()).toBe("sentinel");
    expect(c.received).toEqual([]);
    expect(broker.counters.refusedPublishes).toBe(before + 1);
  });

  it("refuses every publish of a device that is no longer current, before it is disconnected", async () => {
    const { head, a, c } = await setup();
    revoked.add(A);
    a.client.publish(inboxTopic(prefix, CLUSTER, C), Buffer.from("revoked"), { qos: 1 });
    await a.closed;
    const again = await connectAs(A);
    again.client.publish(setupTopic(prefix, CLUSTER, A), Buffer.from("revoked set-up"), { qos: 1 });
    await again.closed;
    await c.client.publishAsync(headInTopic(prefix, CLUSTER), Buffer.from("sentinel"), { qos: 1 });
    await waitFor(() => head.received.length === 1, "sentinel");
    expect(c.received).toEqual([]);
  });

  it("lets the head publish to a device's inbox, warn and ctl topics, but not to another cluster", async () => {
    const { head, b } = await setup();
    expect(await granted(b, ctlTopic(prefix, CLUSTER, B))).toBe(1);
    await head.client.publishAsync(inboxTopic(prefix, CLUSTER, B), Buffer.from("grant"), { qos: 1 });
    await head.client.publishAsync(ctlTopic(prefix, CLUSTER, B), Buffer.from("ctl"), { qos: 1 });
    await waitFor(() => b.received.length === 2, "head frames");
    expect(b.received.map((m) => m.payload.toString())).toEqual(["grant", "ctl"]);
    head.client.publish(inboxTopic(prefix, OTHER_CLUSTER, OUTSIDER), Buffer.from("x"), { qos: 1 });
    await head.closed;
  });
});

describe("embedded broker: disconnect(deviceId)", () => {
  it("closes that device's connection and reports whether one was open", async () => {
    const a = await connectAs(A);
    const b = await connectAs(B);
    expect(await broker.disconnect(A)).toBe(true);
    await a.closed;
    expect(b.client.connected).toBe(true);
    expect(await broker.disconnect(A)).toBe(false);
    expect(await broker.disconnect(randomDeviceId())).toBe(false);
  });

  it("counts connections without exposing credentials", async () => {
    const before = broker.counters.connections;
    await connectAs(C);
    // aedes emits clientReady after the CONNACK write completes, which may be after the client saw it.
    await waitFor(() => broker.counters.connections === before + 1, "clientReady");
    const counters = broker.counters;
    expect(counters.connected).toBe(1);
    expect(JSON.stringify(counters)).not.toContain("secret");
  });
});
