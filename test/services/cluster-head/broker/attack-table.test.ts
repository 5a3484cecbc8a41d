/**
 * One table of attacks on the broker, run against both brokers a head can use: the embedded aedes
 * broker and a private Mosquitto administered through dynamic security over TLS
 * (docs/mqtt.md § Attack table). Each row names the security outcome both must show, asserts it
 * against real clients, a real head and a real chain, and records how each broker behaved on the
 * wire (CONNACK, SUBACK, PUBACK or a closed connection). The table is printed at the end of the run.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { brokerPassword } from "../../../../protocol/broker-credential";
import type { Membership } from "../../../../protocol/membership";
import { MqttTransport } from "../../../../transport/mqtt/client";
import { encodeEnvelope, encodeSetupPayload } from "../../../../transport/mqtt/envelope";
import {
  ctlTopic,
  deviceSubscriptions,
  headInTopic,
  inboxTopic,
  setupTopic,
} from "../../../../transport/mqtt/topics";
import { AeadSuite, MessageType, PROTOCOL_VERSION } from "../../../../protocol/constants";
import { createSessionRequest } from "../../../../protocol/grant/member";
import { startTestChain, type TestChain } from "../../../../testkit/chain";
import { startTestHead, type TestDevice, type TestHead } from "../../../../testkit/head";
import { type DynsecMosquitto, startDynsecMosquitto } from "../../../../testkit/mosquitto-dynsec";
import { makeTestPki, type TestPki } from "../../../../testkit/pki";
import { enrolled, joined, requestSession } from "../../../helpers/member-client";

const PREFIX = "iotguard";
/** Larger than both brokers' packet limits (embedded: 65,697 bytes; Mosquitto: `max_packet_size`). */
const OVERSIZE_BYTES = 2 * 1024 * 1024;
/** The `max_packet_size` docs/mqtt.md § Broker config recommends. */
const MOSQUITTO_MAX_PACKET = 1024 * 1024;

type BrokerName = "embedded" | "mosquitto";

interface Member {
  device: TestDevice;
  membership: Membership;
  hex: string;
  password: string;
}

/** A device's own subscriber: everything its inbox, warn and ctl topics deliver. */
interface Listener {
  transport: MqttTransport;
  got: Array<{ topic: string; payload: Buffer }>;
  offline: number;
}

interface Env {
  broker: BrokerName;
  head: TestHead;
  url: string;
  ca: string | undefined;
  cid: number;
  /** a and b hold a session; c holds none; d is revoked in the last row. */
  a: Member;
  b: Member;
  c: Member;
  d: Member;
  lb: Listener;
  lc: Listener;
}

/** What an attempt observed on the wire, for the printed table. */
type How = string;

interface Row {
  attempt: string;
  /** The security outcome, the same for both brokers. */
  expected: string;
  /** What each broker does on the wire (asserted, so the printed table is what happened). */
  how: Record<BrokerName, RegExp>;
  run(env: Env): Promise<How>;
}

interface RawConnection {
  client: MqttClient;
  closed: Promise<void>;
  isClosed(): boolean;
}

const clients: MqttClient[] = [];
const transports: MqttTransport[] = [];

function clientOptions(env: Env, o: IClientOptions): IClientOptions {
  return {
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...(env.ca ? { ca: env.ca } : {}),
    ...o,
  };
}

/** A raw MQTT.js client that never reconnects, so a broker-side close stays visible. */
async function connectRaw(env: Env, o: IClientOptions): Promise<RawConnection> {
  const client = await mqtt.connectAsync(env.url, clientOptions(env, o));
  clients.push(client);
  let closed = false;
  const closedP = new Promise<void>((resolve) =>
    client.once("close", () => {
      closed = true;
      resolve();
    }),
  );
  return { client, closed: closedP, isClosed: () => closed };
}

/** The CONNACK return code of a refused connect; fails the test when the broker admits it. */
async function refusedCode(env: Env, o: IClientOptions): Promise<number> {
  const outcome = await connectRaw(env, o).then(
    () => "admitted",
    (error: { code?: unknown }) => error.code,
  );
  expect(outcome, "the broker admitted the connection").not.toBe("admitted");
  expect(typeof outcome).toBe("number");
  return outcome as number;
}

const as = (m: Member, clientId = m.hex): IClientOptions => ({
  username: m.hex,
  password: m.password,
  clientId,
});

/** The SUBACK code for `filter`, or "closed" when the broker closed the connection instead. */
async function subackCode(conn: RawConnection, filter: string, qos: 0 | 1 | 2 = 1): Promise<string> {
  const answer = new Promise<string>((resolve) =>
    // MQTT.js reports the requested QoS in its second argument on a refusal; the SUBACK is the third.
    conn.client.subscribe(filter, { qos }, (_err, _grants, suback) =>
      resolve(
        suback?.granted?.[0] === undefined ? "no SUBACK" : `0x${Number(suback.granted[0]).toString(16)}`,
      ),
    ),
  );
  return Promise.race([answer, conn.closed.then(() => "closed")]);
}

/** Publishes and tells whether the broker acknowledged it or closed the connection. */
async function publishRaw(
  conn: RawConnection,
  topic: string,
  payload: Buffer,
  o: { qos?: 1 | 2; retain?: boolean } = {},
): Promise<"acknowledged" | "connection closed"> {
  const qos = o.qos ?? 1;
  const acked = new Promise<"acknowledged" | "connection closed">((resolve) =>
    conn.client.publish(topic, payload, { qos, retain: o.retain ?? false }, (err) =>
      resolve(err ? "connection closed" : "acknowledged"),
    ),
  );
  const outcome = await Promise.race([acked, conn.closed.then(() => "connection closed" as const)]);
  return outcome;
}

/** Asserts that `payload` never reached `listener`: the head's sentinel on the same topic arrives, it does not. */
async function expectNotDelivered(
  env: Env,
  listener: Listener,
  topic: string,
  payload: Buffer,
): Promise<void> {
  const sentinel = randomBytes(16);
  await env.head.broker.client.publish(topic, sentinel);
  await expect.poll(() => listener.got.some((m) => m.payload.equals(sentinel)), { timeout: 5000 }).toBe(true);
  expect(listener.got.some((m) => m.payload.includes(payload))).toBe(false);
}

/** A payload shaped like a channel frame from `from` (version, FRAME_I2R, suite, then bytes), so only the session decides. */
const frame = (from: Member, text: string): Buffer =>
  Buffer.from(
    encodeEnvelope(
      from.device.deviceId,
      Buffer.concat([
        Buffer.from([PROTOCOL_VERSION, MessageType.FRAME_I2R, AeadSuite.AES_256_GCM]),
        Buffer.from(`${text} ${randomBytes(8).toString("hex")}`),
      ]),
    ),
  );

const inbox = (env: Env, m: Member) => inboxTopic(PREFIX, env.cid, m.hex);

/** Refused publishes close the connection on aedes (MQTT-3.3.5-2); Mosquitto acknowledges and drops them. */
const DROPPED = { embedded: /^connection closed$/, mosquitto: /^acknowledged$/ };

const ROWS: Row[] = [
  {
    attempt: "connect without user name and password",
    expected: "refused at CONNECT",
    how: { embedded: /^CONNACK 4$/, mosquitto: /^CONNACK 5$/ },
    run: async (env) => `CONNACK ${await refusedCode(env, { clientId: env.a.hex })}`,
  },
  {
    attempt: "connect with a member's user name and a forged password",
    expected: "refused at CONNECT",
    how: { embedded: /^CONNACK 4$/, mosquitto: /^CONNACK 5$/ },
    run: async (env) =>
      `CONNACK ${await refusedCode(env, { ...as(env.a), password: randomBytes(32).toString("hex") })}`,
  },
  {
    attempt: "connect with another member's credential (b's user name, a's password)",
    expected: "refused at CONNECT",
    how: { embedded: /^CONNACK 4$/, mosquitto: /^CONNACK 5$/ },
    run: async (env) => `CONNACK ${await refusedCode(env, { ...as(env.b), password: env.a.password })}`,
  },
  {
    attempt: "client-ID takeover: a's credential with b's client ID",
    expected: "refused at CONNECT; b stays connected",
    how: { embedded: /^CONNACK 2$/, mosquitto: /^CONNACK 5$/ },
    run: async (env) => {
      const before = env.lb.offline;
      const code = await refusedCode(env, as(env.a, env.b.hex));
      expect(env.lb.transport.connected).toBe(true);
      expect(env.lb.offline).toBe(before);
      return `CONNACK ${code}`;
    },
  },
  ...(
    [
      ["subscribe to `#`", () => "#"],
      [
        "subscribe with a `+` wildcard (`<prefix>/c/<cid>/d/+/inbox`)",
        (env: Env) => `${PREFIX}/c/${env.cid}/d/+/inbox`,
      ],
      ["subscribe to another device's inbox", (env: Env) => inbox(env, env.b)],
      ["subscribe to `$SYS/#`", () => "$SYS/#"],
      ["subscribe to `$share/g/<b's inbox>`", (env: Env) => `$share/g/${inbox(env, env.b)}`],
      ["subscribe to `$CONTROL/#`", () => "$CONTROL/#"],
    ] as const
  ).map(([attempt, filter]): Row => ({
    attempt,
    expected: "subscription refused",
    how: { embedded: /^SUBACK 0x80$/, mosquitto: /^SUBACK 0x80$/ },
    run: async (env) => {
      const conn = await connectRaw(env, as(env.a));
      const code = await subackCode(conn, filter(env));
      expect(code).toBe("0x80");
      // A refused subscription must not deliver anything either: b's inbox gets a frame now.
      const probe = frame(env.a, "probe");
      await env.head.broker.client.publish(inbox(env, env.b), probe);
      await expect.poll(() => env.lb.got.some((m) => m.payload.equals(probe))).toBe(true);
      return `SUBACK ${code}`;
    },
  })),
  {
    attempt: "publish a dynsec command to `$CONTROL/dynamic-security/v1` (create a client)",
    expected: "not executed: the client does not exist",
    how: DROPPED,
    run: async (env) => {
      const conn = await connectRaw(env, as(env.a));
      const username = `intruder-${randomBytes(4).toString("hex")}`;
      const command = { commands: [{ command: "createClient", username, password: "intruder" }] };
      const how = await publishRaw(
        conn,
        "$CONTROL/dynamic-security/v1",
        Buffer.from(JSON.stringify(command)),
      );
      await refusedCode(env, { username, password: "intruder", clientId: username });
      return how;
    },
  },
  {
    attempt: "publish a frame to a member's inbox without a session (a → c)",
    expected: "nothing delivered",
    how: { embedded: /^acknowledged, dropped$/, mosquitto: /^acknowledged, dropped$/ },
    run: async (env) => {
      const conn = await connectRaw(env, as(env.a));
      const payload = frame(env.a, "no session");
      const how = await publishRaw(conn, inbox(env, env.c), payload);
      await expectNotDelivered(env, env.lc, inbox(env, env.c), payload);
      return `${how}, dropped`;
    },
  },
  {
    attempt: "publish a forged notice to another device's `ctl` topic",
    expected: "nothing delivered",
    how: DROPPED,
    run: async (env) => {
      const conn = await connectRaw(env, as(env.a));
      const payload = Buffer.from(`forged peer-ended ${randomBytes(8).toString("hex")}`);
      const how = await publishRaw(conn, ctlTopic(PREFIX, env.cid, env.b.hex), payload);
      await expectNotDelivered(env, env.lb, ctlTopic(PREFIX, env.cid, env.b.hex), payload);
      return how;
    },
  },
  {
    attempt: "publish a session request to another device's `setup` topic (as b, to c)",
    expected: "nothing relayed",
    how: DROPPED,
    run: async (env) => {
      const conn = await connectRaw(env, as(env.a));
      const request = createSessionRequest({
        membership: env.a.membership,
        clusterId: env.cid,
        peerId: env.c.membership.deviceId,
        now: Date.now(),
      });
      const payload = Buffer.from(encodeSetupPayload(env.c.membership.deviceId, request.message));
      const how = await publishRaw(conn, setupTopic(PREFIX, env.cid, env.b.hex), payload);
      await expectNotDelivered(env, env.lc, inbox(env, env.c), Buffer.from(request.message));
      return how;
    },
  },
  {
    attempt: "publish a retained frame to a session peer's inbox, then subscribe again",
    expected: "nothing retained is delivered to a later subscriber",
    how: { embedded: /^connection closed/, mosquitto: /^connection closed/ },
    run: async (env) => {
      const conn = await connectRaw(env, as(env.a));
      const payload = frame(env.a, "retained");
      const how = await publishRaw(conn, inbox(env, env.b), payload, { retain: true });
      // A second subscriber of b's inbox (a fresh subscription) is where a retained message would land.
      const topic = inbox(env, env.b);
      await env.lb.transport.unsubscribe([topic]);
      await env.lb.transport.subscribe([topic]);
      await expectNotDelivered(env, env.lb, topic, payload);
      return `${how}; live delivery: ${env.lb.got.some((m) => m.payload.equals(payload)) ? "yes" : "none"}`;
    },
  },
  {
    attempt: "a will message to a member's inbox without a session (a's will → c), connection dropped",
    expected: "nothing delivered",
    how: { embedded: /^connected; will dropped$/, mosquitto: /^connected; will dropped$/ },
    run: async (env) => {
      const payload = frame(env.a, "will");
      const conn = await connectRaw(env, {
        ...as(env.a),
        will: { topic: inbox(env, env.c), payload, qos: 1, retain: false },
      }).catch((error: { code?: number }) => `CONNACK ${error.code}`);
      if (typeof conn === "string") return `${conn} (will refused at CONNECT)`;
      conn.client.stream.destroy(); // no DISCONNECT: the broker must publish the will
      await conn.closed;
      await expectNotDelivered(env, env.lc, inbox(env, env.c), payload);
      return "connected; will dropped";
    },
  },
  {
    attempt: "subscribe to its own inbox with QoS 2",
    expected: "at most its own topics",
    how: { embedded: /^SUBACK 0x80$/, mosquitto: /^SUBACK 0x[0-2]$/ },
    run: async (env) => {
      const conn = await connectRaw(env, as(env.a));
      const own = await subackCode(conn, inbox(env, env.a), 2);
      expect(await subackCode(conn, inbox(env, env.b), 2)).toBe("0x80");
      return `SUBACK ${own}`;
    },
  },
  {
    attempt: "publish with QoS 2 to a member's inbox without a session (a → c)",
    expected: "nothing delivered",
    how: {
      embedded: /^acknowledged \(PUBCOMP\), dropped$/,
      mosquitto: /^acknowledged \(PUBCOMP\), dropped$/,
    },
    run: async (env) => {
      const conn = await connectRaw(env, as(env.a));
      const payload = frame(env.a, "qos 2");
      const how = await publishRaw(conn, inbox(env, env.c), payload, { qos: 2 });
      await expectNotDelivered(env, env.lc, inbox(env, env.c), payload);
      return how === "acknowledged" ? "acknowledged (PUBCOMP), dropped" : how;
    },
  },
  {
    attempt: `publish an oversize payload (${OVERSIZE_BYTES / 1024 / 1024} MiB) to a session peer's inbox`,
    expected: "connection closed, nothing delivered",
    how: { embedded: /^connection closed$/, mosquitto: /^connection closed$/ },
    run: async (env) => {
      const conn = await connectRaw(env, as(env.a));
      const payload = Buffer.concat([frame(env.a, "oversize"), randomBytes(OVERSIZE_BYTES)]);
      const how = await publishRaw(conn, inbox(env, env.b), payload);
      expect(how).toBe("connection closed");
      await expectNotDelivered(env, env.lb, inbox(env, env.b), payload.subarray(0, 80));
      return how;
    },
  },
  {
    attempt: "a member revoked on chain stays connected or reconnects",
    expected: "disconnected within 1 block + 1 s; reconnect refused",
    how: {
      embedded: /^closed \d+ ms after the revoke was sent; CONNACK 4$/,
      mosquitto: /^closed \d+ ms after the revoke was sent; CONNACK 5$/,
    },
    run: async (env) => {
      const conn = await connectRaw(env, as(env.d));
      const sentAt = Date.now();
      // The head sends the revocation and answers once it is mined (one block here).
      const revoked = await env.head.operator("POST", `/v1/devices/${env.d.hex}/revoke`);
      expect(revoked.status).toBe(200);
      const minedAt = Date.now();
      await conn.closed;
      const closedAt = Date.now();
      expect(closedAt - minedAt).toBeLessThanOrEqual(1000);
      const code = await refusedCode(env, as(env.d));
      return `closed ${closedAt - sentAt} ms after the revoke was sent; CONNACK ${code}`;
    },
  },
];

/** The printed table: attempt → expected, and what each broker did. */
const observed = new Map<string, Partial<Record<BrokerName, How>>>();

let chain: TestChain;
let pkiDir: string;
let pki: TestPki;
let mosquitto: DynsecMosquitto | undefined;
const startedAt = Date.now();

beforeAll(async () => {
  chain = await startTestChain();
  pkiDir = mkdtempSync(join(tmpdir(), "iotguard-attack-pki-"));
  pki = makeTestPki(pkiDir);
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await Promise.all(transports.splice(0).map((t) => t.close(true)));
  await mosquitto?.stop();
  await chain?.stop();
  rmSync(pkiDir, { recursive: true, force: true });
  console.log(attackTableMarkdown());
  console.log(`attack table: ${ROWS.length} rows × 2 brokers in ${Date.now() - startedAt} ms`);
});

function attackTableMarkdown(): string {
  const cell = (s: string | undefined) => (s ?? "(not run)").replaceAll("|", "\\|");
  const lines = [
    "| Attempt | Expected (both brokers) | Embedded (aedes) | Mosquitto + dynsec + TLS |",
    "| --- | --- | --- | --- |",
    ...ROWS.map((r) => {
      const o = observed.get(r.attempt) ?? {};
      return `| ${cell(r.attempt)} | ${cell(r.expected)} | ${cell(o.embedded)} | ${cell(o.mosquitto)} |`;
    }),
  ];
  return lines.join("\n");
}

async function member(head: TestHead): Promise<Member> {
  const device = await enrolled(head);
  const membership = await joined(head, device);
  return { device, membership, hex: device.deviceIdHex, password: brokerPassword(membership) };
}

async function listen(url: string, ca: string | undefined, cid: number, m: Member): Promise<Listener> {
  const transport = await MqttTransport.connect(url, {
    clientId: m.hex,
    username: m.hex,
    password: m.password,
    clean: true,
    reconnectPeriodMs: 60_000,
    ...(ca ? { tls: { ca } } : {}),
  });
  transports.push(transport);
  const listener: Listener = { transport, got: [], offline: 0 };
  transport.on("message", (topic, payload) => listener.got.push({ topic, payload }));
  transport.on("offline", () => listener.offline++);
  await transport.subscribe(deviceSubscriptions(PREFIX, cid, m.hex));
  return listener;
}

const BROKERS: Array<{ broker: BrokerName; title: string; cid: number }> = [
  { broker: "embedded", title: "the embedded aedes broker", cid: 41 },
  { broker: "mosquitto", title: "Mosquitto with dynamic security over TLS", cid: 42 },
];

describe.each(BROKERS)("attacks on $title", ({ broker, cid }) => {
  const env = { broker, cid } as Env;

  beforeAll(async () => {
    if (broker === "mosquitto") {
      mosquitto = await startDynsecMosquitto({
        tls: { caFile: pki.caCert, certFile: pki.headCert, keyFile: pki.headKey },
        extraConfig: [`max_packet_size ${MOSQUITTO_MAX_PACKET}`],
      });
      env.head = await startTestHead(chain, {
        clusterId: String(cid),
        brokerUrl: mosquitto.tlsUrl!,
        brokerCa: pki.caCert,
        brokerAdminFile: mosquitto.adminFile,
        logLevel: "silent",
      });
      env.url = mosquitto.tlsUrl!;
      env.ca = readFileSync(pki.caCert, "utf8");
    } else {
      env.head = await startTestHead(chain, { clusterId: String(cid), logLevel: "silent" });
      env.url = env.head.broker.url;
      env.ca = undefined;
    }
    [env.a, env.b, env.c, env.d] = [
      await member(env.head),
      await member(env.head),
      await member(env.head),
      await member(env.head),
    ];
    const granted = await requestSession(env.head, env.a.membership, env.b.membership);
    expect(granted.response.status, await granted.response.clone().text()).toBe(200);
    env.lb = await listen(env.url, env.ca, cid, env.b);
    env.lc = await listen(env.url, env.ca, cid, env.c);
  }, 60_000);

  afterAll(async () => {
    await env.head?.destroy();
  });

  it("lets a session's frames through (the table's attempts are refused, not the broker broken)", async () => {
    const conn = await connectRaw(env, as(env.a));
    const payload = frame(env.a, "allowed");
    expect(await publishRaw(conn, inbox(env, env.b), payload)).toBe("acknowledged");
    await expect.poll(() => env.lb.got.some((m) => m.payload.equals(payload))).toBe(true);
    expect(await subackCode(conn, inbox(env, env.a))).toBe("0x1");
    expect(await publishRaw(conn, headInTopic(PREFIX, cid), Buffer.from("hello head"))).toBe("acknowledged");
  });

  it.each(ROWS)(
    "$attempt: $expected",
    async (row) => {
      const how = await row.run(env);
      observed.set(row.attempt, { ...observed.get(row.attempt), [broker]: how });
      expect(how).toMatch(row.how[broker]);
    },
    20_000,
  );
});
