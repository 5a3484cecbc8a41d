/**
 * A real head administering a real private Mosquitto through its dynamic-security plugin, against
 * a real chain: join creates the member's client, grant opens exactly the session's inboxes,
 * revocation on chain deletes (and so disconnects) the device, and reconciliation repairs the
 * broker after a broker restart and after a head restart.
 */
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { brokerPassword } from "../../../../../protocol/broker-credential";
import type { Membership } from "../../../../../protocol/membership";
import { readAdminCredential } from "../../../../../services/cluster-head/broker/dynsec/admin-credential";
import { DynsecControlClient } from "../../../../../services/cluster-head/broker/dynsec/control-client";
import { memberRoleName } from "../../../../../services/cluster-head/broker/dynsec/desired-state";
import { readBrokerState } from "../../../../../services/cluster-head/broker/dynsec/reconciler";
import { MqttTransport } from "../../../../../transport/mqtt/client";
import { encodeSetupPayload } from "../../../../../transport/mqtt/envelope";
import {
  ctlTopic,
  deviceSubscriptions,
  inboxTopic,
  setupTopic,
  warnTopic,
} from "../../../../../transport/mqtt/topics";
import { toHex } from "../../../../../protocol/bytes";
import { MessageSize } from "../../../../../protocol/constants";
import { acceptGrant, createSessionRequest } from "../../../../../protocol/grant/member";
import { startTestChain, type TestChain } from "../../../../../testkit/chain";
import { startTestHead, type TestDevice, type TestHead } from "../../../../../testkit/head";
import { type DynsecMosquitto, startDynsecMosquitto } from "../../../../../testkit/mosquitto-dynsec";
import {
  buildSessionRequest,
  enrolled,
  errorCode,
  join,
  joined,
  requestSession,
} from "../../../../helpers/member-client";

const CLUSTER = 1;
const PREFIX = "iotguard";
const STRANGER = "5".repeat(64);

interface Health {
  status: string;
  broker: {
    up: boolean;
    access: string;
    admin?: { connected: boolean; reconciled?: { at: number; added: number; removed: number } };
  };
}

let chain: TestChain;
let broker: DynsecMosquitto;
let admin: DynsecControlClient;
const devices: MqttTransport[] = [];

const brokerClients = async () => (await readBrokerState(admin)).clients.map((x) => x.username);
const connect = async (m: Membership, hex: string, password = brokerPassword(m)) => {
  const t = await MqttTransport.connect(broker.url, {
    clientId: hex,
    username: hex,
    password,
    clean: true,
    // Long enough never to retry within a test, but set: MQTT.js says "offline" only when it will retry.
    reconnectPeriodMs: 60_000,
    connectTimeoutMs: 3000,
  });
  devices.push(t);
  return t;
};
/** Messages `t` receives, and a wait for one whose payload equals `payload`. */
const inbox = (t: MqttTransport) => {
  const got: Buffer[] = [];
  t.on("message", (_topic, payload) => got.push(payload));
  return {
    got,
    waitFor: (payload: Buffer) =>
      expect.poll(() => got.some((p) => p.equals(payload)), { timeout: 3000 }).toBe(true),
  };
};

beforeAll(async () => {
  chain = await startTestChain();
  broker = await startDynsecMosquitto();
  admin = await DynsecControlClient.connect(broker.url, readAdminCredential(broker.adminFile), {
    clientId: `test-admin-${randomBytes(4).toString("hex")}`,
  });
}, 60_000);
afterAll(async () => {
  await Promise.all(devices.map((t) => t.close(true)));
  await admin?.close();
  await broker?.stop();
  await chain?.stop();
});

describe("the head administers Mosquitto's dynamic security", () => {
  let head: TestHead;
  let a: TestDevice, b: TestDevice, c: TestDevice;
  let ma: Membership, mb: Membership;

  const health = async (): Promise<Health> => (await (await fetch(`${head.url}/health`)).json()) as Health;
  beforeAll(async () => {
    // Left over from an earlier head of this cluster (a member that no longer exists), and another
    // application's client and role: the first must go, the second stay.
    await admin.runOk([
      { command: "createRole", rolename: memberRoleName(CLUSTER, STRANGER) },
      {
        command: "createClient",
        username: STRANGER,
        password: "x",
        roles: [{ rolename: memberRoleName(CLUSTER, STRANGER) }],
      },
      { command: "createRole", rolename: "other-app" },
      { command: "createClient", username: "other-app", password: "x", roles: [{ rolename: "other-app" }] },
    ]);
    head = await startTestHead(chain, {
      clusterId: String(CLUSTER),
      brokerUrl: broker.url,
      brokerAdminFile: broker.adminFile,
    });
  }, 90_000);
  afterAll(async () => {
    await head?.destroy();
  });

  it("removes at start what it created for no current member, leaves other clients alone, and says so in /health", async () => {
    const clients = await brokerClients();
    expect(clients).not.toContain(STRANGER);
    expect(clients).toEqual(
      expect.arrayContaining([broker.admin.username, "other-app", `iotguard-head-${CLUSTER}`]),
    );
    const h = await health();
    expect(h.status).toBe("ok");
    expect(h.broker).toMatchObject({ up: true, access: "dynsec", admin: { connected: true } });
    expect(h.broker.admin!.reconciled!.removed).toBeGreaterThanOrEqual(2); // the stranger's client and role
  });

  it("creates the member's client at join; the device connects with its credential and subscribes to its own topics only", async () => {
    [a, b, c] = [await enrolled(head), await enrolled(head), await enrolled(head)];
    ma = await joined(head, a);
    mb = await joined(head, b);
    expect(await brokerClients()).toEqual(expect.arrayContaining([a.deviceIdHex, b.deviceIdHex]));

    const ta = await connect(ma, a.deviceIdHex);
    expect(await ta.subscribe(deviceSubscriptions(PREFIX, CLUSTER, a.deviceIdHex))).toEqual([1, 1, 1]);
    for (const filter of [
      "#",
      `${PREFIX}/c/${CLUSTER}/d/+/inbox`,
      inboxTopic(PREFIX, CLUSTER, b.deviceIdHex),
      "$SYS/#",
    ])
      await expect(ta.subscribe([filter]), filter).rejects.toMatchObject({ code: "E_SUBSCRIBE_REFUSED" });

    await expect(connect(ma, a.deviceIdHex, "0".repeat(64))).rejects.toMatchObject({
      code: "E_BROKER_REFUSED",
    });
    await expect(connect(ma, b.deviceIdHex)).rejects.toMatchObject({ code: "E_BROKER_REFUSED" });
  });

  it("drops a frame to a peer without a session, and lets frames flow both ways once the head granted one", async () => {
    const ta = devices[0]!;
    const tb = await connect(mb, b.deviceIdHex);
    await tb.subscribe(deviceSubscriptions(PREFIX, CLUSTER, b.deviceIdHex));
    const bIn = inbox(tb);
    const early = Buffer.from("frame before any session");
    await ta.publish(inboxTopic(PREFIX, CLUSTER, b.deviceIdHex), early); // PUBACKed, then dropped
    const sentinel = Buffer.from("sentinel from the head");
    await head.broker.client.publish(inboxTopic(PREFIX, CLUSTER, b.deviceIdHex), sentinel);
    await bIn.waitFor(sentinel);
    expect(bIn.got.some((p) => p.equals(early))).toBe(false);

    // A session request goes through the device's own set-up topic; the head relays it to b's inbox.
    const request = createSessionRequest({
      membership: ma,
      clusterId: CLUSTER,
      peerId: mb.deviceId,
      now: Date.now(),
    });
    await ta.publish(
      setupTopic(PREFIX, CLUSTER, a.deviceIdHex),
      encodeSetupPayload(mb.deviceId, request.message),
    );
    await expect
      .poll(
        () =>
          bIn.got.some(
            (p) =>
              p.length > request.message.length &&
              p.subarray(-request.message.length).equals(request.message),
          ),
        { timeout: 3000 },
      )
      .toBe(true);
    // Another device's set-up topic is not a's to write: dropped, never relayed (here: back to a).
    const aIn = inbox(ta); // a subscribed to its own topics above
    const spoofed = createSessionRequest({
      membership: ma,
      clusterId: CLUSTER,
      peerId: mb.deviceId,
      now: Date.now(),
    });
    await ta.publish(
      setupTopic(PREFIX, CLUSTER, b.deviceIdHex),
      encodeSetupPayload(ma.deviceId, spoofed.message),
    );

    const { response } = await requestSession(head, ma, mb);
    expect(response.status, await response.clone().text()).toBe(200);
    const toB = Buffer.from("a to b");
    await ta.publish(inboxTopic(PREFIX, CLUSTER, b.deviceIdHex), toB);
    await bIn.waitFor(toB);
    const toA = Buffer.from("b to a");
    await tb.publish(inboxTopic(PREFIX, CLUSTER, a.deviceIdHex), toA);
    await aIn.waitFor(toA);
    expect(aIn.got.some((p) => p.subarray(-spoofed.message.length).equals(spoofed.message))).toBe(false);
    // Still only frames: a device never writes another's warn topic.
    const forged = Buffer.from("forged warning");
    await ta.publish(warnTopic(PREFIX, CLUSTER, b.deviceIdHex), forged);
    await head.broker.client.publish(inboxTopic(PREFIX, CLUSTER, b.deviceIdHex), sentinel);
    await expect.poll(() => bIn.got.filter((p) => p.equals(sentinel)).length).toBe(2);
    expect(bIn.got.some((p) => p.equals(forged))).toBe(false);
  });

  it("delivers M1's Grant on M1's ctl topic, where only the head may publish: M2's answer carries its own Grant alone", async () => {
    const ta = devices[0]!; // a, subscribed to its own inbox, warn and ctl (second test)
    const tb = devices[1]!; // b, likewise (third test)
    const atA = inbox(ta);
    // b holds a session with a, yet a's ctl topic is not b's to write: acknowledged, never delivered.
    const forged = Buffer.alloc(MessageSize.GRANT, 0x12);
    await tb.publish(ctlTopic(PREFIX, CLUSTER, a.deviceIdHex), forged);
    const { forward, pending1, pending2 } = buildSessionRequest(head, ma, mb);
    const response = await fetch(`${head.url}/v1/sessions`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream", "x-iotguard-grant-delivery": "direct" },
      body: forward.message,
    });
    expect(response.status, await response.clone().text()).toBe(200);
    expect(response.headers.get("x-iotguard-outcome")).toBe("delivered");
    const forB = acceptGrant(new Uint8Array(await response.arrayBuffer()), mb, pending2, Date.now());
    await expect.poll(() => atA.got.filter((p) => p.length === MessageSize.GRANT).length).toBe(1);
    const forA = acceptGrant(
      new Uint8Array(atA.got.find((p) => p.length === MessageSize.GRANT)!),
      ma,
      pending1,
      Date.now(),
    );
    expect(toHex(forA.sessionId)).toBe(toHex(forB.sessionId));
    expect(atA.got.some((p) => p.equals(forged))).toBe(false);
  });

  it(
    "disconnects a device revoked on chain within one block and a second, and refuses its reconnect",
    { timeout: 20_000 },
    async () => {
      const ta = devices[0]!;
      const offline = new Promise<number>((resolve) => ta.once("offline", () => resolve(Date.now())));
      const sentAt = Date.now();
      // The head sends the revocation and answers once it is mined; the index follower then sees it.
      const revoked = await head.operator("POST", `/v1/devices/${a.deviceIdHex}/revoke`);
      expect(revoked.status).toBe(200);
      const minedAt = Date.now();
      const disconnectedAt = await offline;
      console.log(
        `revocation on chain → Mosquitto disconnect: ${disconnectedAt - minedAt} ms after the receipt (${disconnectedAt - sentAt} ms after sending; poll interval 50 ms)`,
      );
      expect(disconnectedAt - minedAt).toBeLessThanOrEqual(1000);
      await expect(connect(ma, a.deviceIdHex)).rejects.toMatchObject({ code: "E_BROKER_REFUSED" });
      const state = await readBrokerState(admin);
      expect(state.clients.map((x) => x.username)).not.toContain(a.deviceIdHex);
      expect(state.roles.map((r) => r.rolename)).not.toContain(memberRoleName(CLUSTER, a.deviceIdHex));
      const roleB = state.roles.find((r) => r.rolename === memberRoleName(CLUSTER, b.deviceIdHex))!;
      expect(roleB.acls.map((x) => x.topic)).not.toContain(inboxTopic(PREFIX, CLUSTER, a.deviceIdHex));
    },
  );

  it("refuses a join with E_BROKER_ADMIN_UNAVAILABLE while the broker is down, and a broker restarted with its dynsec file is reconciled", async () => {
    const before = (await health()).broker.admin!.reconciled!.at;
    await broker.kill();
    await expect.poll(async () => (await health()).status).toBe("degraded");
    const refused = await join(head, c);
    expect(refused.response.status).toBe(503);
    expect(await errorCode(refused.response)).toBe("E_BROKER_ADMIN_UNAVAILABLE");
    expect(head.context.members.getByDevice(c.deviceIdHex)).toBeUndefined();

    // b is revoked while the broker is down: its client survives in the dynsec file.
    expect((await head.operator("POST", `/v1/devices/${b.deviceIdHex}/revoke`)).status).toBe(200);
    await expect.poll(() => head.context.members.getByDevice(b.deviceIdHex)).toBeUndefined();
    await broker.start();
    await expect
      .poll(async () => (await health()).broker.admin?.reconciled?.at ?? 0, { timeout: 10_000 })
      .toBeGreaterThan(before);
    expect(await brokerClients()).not.toContain(b.deviceIdHex);
    // The admin connection can reconcile before the head's own MQTT client is back (it retries
    // every second): a loaded CI run saw "degraded" here once.
    await expect.poll(async () => (await health()).status, { timeout: 10_000 }).toBe("ok");

    const mc = await joined(head, c);
    const tc = await connect(mc, c.deviceIdHex);
    expect(await tc.subscribe(deviceSubscriptions(PREFIX, CLUSTER, c.deviceIdHex))).toEqual([1, 1, 1]);
    await tc.close(true);
  }, 30_000);

  it("a head restarted with its database restores a lost member client and removes its own strangers", async () => {
    const mc = head.context.members.getByDevice(c.deviceIdHex)!.membership;
    const flags = head.flags;
    await head.stop();
    await admin.runOk([
      { command: "deleteClient", username: c.deviceIdHex },
      { command: "createRole", rolename: memberRoleName(CLUSTER, STRANGER) },
    ]);
    const firstDir = head.dir;
    head = await startTestHead(chain, flags);
    rmSync(firstDir, { recursive: true, force: true });
    expect((await health()).broker.admin!.reconciled).toMatchObject({ added: 1, removed: 1 }); // c's client; the stray role
    const state = await readBrokerState(admin);
    expect(state.roles.map((r) => r.rolename)).not.toContain(memberRoleName(CLUSTER, STRANGER));
    const tc = await connect(mc, c.deviceIdHex);
    expect(await tc.subscribe(deviceSubscriptions(PREFIX, CLUSTER, c.deviceIdHex))).toEqual([1, 1, 1]);
  }, 60_000);
});

describe("expiry on an administered broker (no packet is checked live there)", () => {
  const CLUSTER_2 = 2;
  let head: TestHead;

  beforeAll(async () => {
    head = await startTestHead(chain, {
      clusterId: String(CLUSTER_2),
      brokerUrl: broker.url,
      brokerAdminFile: broker.adminFile,
      sessionTtlS: "1",
      membershipTtlS: "3",
    });
  }, 60_000);
  afterAll(async () => {
    await head?.destroy();
  });

  it("removes a session's ACLs when it expires and deletes a member's client when its membership expires", async () => {
    const [d1, d2] = [await enrolled(head), await enrolled(head)];
    const [m1, m2] = [await joined(head, d1), await joined(head, d2)];
    const [t1, t2] = [await connect(m1, d1.deviceIdHex), await connect(m2, d2.deviceIdHex)];
    await t2.subscribe(deviceSubscriptions(PREFIX, CLUSTER_2, d2.deviceIdHex));
    const in2 = inbox(t2);
    // Grant times go on the wire in whole seconds, rounded down: a 1 s session granted late in a
    // second could end a few ms later, before the frame below is sent. Grant early in a second.
    const intoSecond = Date.now() % 1000;
    if (intoSecond > 100) await new Promise((resolve) => setTimeout(resolve, 1005 - intoSecond));
    expect((await requestSession(head, m1, m2)).response.status).toBe(200);
    const during = Buffer.from("during the session");
    await t1.publish(inboxTopic(PREFIX, CLUSTER_2, d2.deviceIdHex), during);
    await in2.waitFor(during);

    const role1 = async () =>
      (await readBrokerState(admin)).roles.find(
        (r) => r.rolename === memberRoleName(CLUSTER_2, d1.deviceIdHex),
      );
    const peerInbox = inboxTopic(PREFIX, CLUSTER_2, d2.deviceIdHex);
    await expect
      .poll(async () => (await role1())?.acls.some((x) => x.topic === peerInbox), { timeout: 3000 })
      .toBe(false);
    const after = Buffer.from("after the session");
    await t1.publish(peerInbox, after);
    const sentinel = Buffer.from("sentinel");
    await head.broker.client.publish(peerInbox, sentinel);
    await in2.waitFor(sentinel);
    expect(in2.got.some((p) => p.equals(after))).toBe(false);

    const offline = new Promise<void>((resolve) => t1.once("offline", () => resolve()));
    await offline;
    expect(m1.expiresAt).toBeLessThanOrEqual(Date.now());
    await expect.poll(brokerClients).not.toContain(d1.deviceIdHex);
    await expect(connect(m1, d1.deviceIdHex)).rejects.toMatchObject({ code: "E_BROKER_REFUSED" });
  }, 20_000);
});
