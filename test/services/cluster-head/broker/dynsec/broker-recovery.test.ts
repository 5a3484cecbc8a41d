/**
 * Recovery on an administered Mosquitto: a broker restarted with a fresh dynsec file (which knows
 * neither the head's client nor the members) is rebuilt by the reconciliation, and the head's own
 * MQTT client, refused until then, connects again; a device that joins again while connected is
 * dropped by Mosquitto (`setClientPassword`) and reconnects with its new credential.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { brokerPassword } from "../../../../../protocol/broker-credential";
import { createSessionRequest } from "../../../../../protocol/grant/member";
import { MqttTransport } from "../../../../../transport/mqtt/client";
import { encodeSetupPayload } from "../../../../../transport/mqtt/envelope";
import { deviceSubscriptions, setupTopic } from "../../../../../transport/mqtt/topics";
import { startTestChain, type TestChain } from "../../../../../testkit/chain";
import { INSIDE, joinedDevice, waitUntil } from "../../../../../testkit/device";
import { startTestHead, type TestHead } from "../../../../../testkit/head";
import { type DynsecMosquitto, startDynsecMosquitto } from "../../../../../testkit/mosquitto-dynsec";
import { enrolled, joined } from "../../../../helpers/member-client";

const CLUSTER = 5;
const PREFIX = "iotguard";

interface Health {
  status: string;
  broker: { up: boolean; admin?: { connected: boolean; reconciled?: { added: number } } };
}

let chain: TestChain;
let broker: DynsecMosquitto;
let head: TestHead;
const transports: MqttTransport[] = [];

const health = async (): Promise<Health> => (await (await fetch(`${head.url}/health`)).json()) as Health;

beforeAll(async () => {
  chain = await startTestChain();
  broker = await startDynsecMosquitto();
  head = await startTestHead(chain, {
    clusterId: String(CLUSTER),
    brokerUrl: broker.url,
    brokerAdminFile: broker.adminFile,
    logLevel: "silent",
  });
}, 60_000);
afterAll(async () => {
  await Promise.all(transports.map((t) => t.close(true)));
  await head?.destroy();
  await broker?.stop();
  await chain?.stop();
});

/** Replaces the dynsec file with a fresh one holding the admin only (same password), as a new install would. */
function freshDynsecFile(): void {
  rmSync(broker.dynsecFile, { force: true });
  const init = spawnSync("mosquitto_ctrl", ["dynsec", "init", broker.dynsecFile, broker.admin.username], {
    input: `${broker.admin.password}\n${broker.admin.password}\n`,
    encoding: "utf8",
  });
  expect(init.status, init.stderr).toBe(0);
  chmodSync(broker.dynsecFile, 0o666);
}

describe("an administered Mosquitto recovers", () => {
  it("restarted with a fresh dynsec file: the reconciliation recreates the head's client and the members, and the head's own client connects again", async () => {
    const [a, b] = [await enrolled(head), await enrolled(head)];
    const [ma, mb] = [await joined(head, a), await joined(head, b)];
    expect((await health()).status).toBe("ok");

    await broker.kill();
    freshDynsecFile();
    await broker.start();
    await expect.poll(async () => (await health()).status, { timeout: 15_000, interval: 200 }).toBe("ok");
    expect((await health()).broker.up).toBe(true);

    // The head's client is subscribed again: a's session request reaches b through the relay.
    const connect = async (hex: string, password: string) => {
      const t = await MqttTransport.connect(broker.url, {
        clientId: hex,
        username: hex,
        password,
        clean: true,
        reconnectPeriodMs: 60_000,
      });
      transports.push(t);
      return t;
    };
    const ta = await connect(a.deviceIdHex, brokerPassword(ma));
    const tb = await connect(b.deviceIdHex, brokerPassword(mb));
    await tb.subscribe(deviceSubscriptions(PREFIX, CLUSTER, b.deviceIdHex));
    const got: Buffer[] = [];
    tb.on("message", (_topic, payload) => got.push(payload));
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
      .poll(() => got.some((p) => p.subarray(-request.message.length).equals(request.message)), {
        timeout: 5000,
      })
      .toBe(true);
  }, 40_000);

  it("a device that joins again while connected is dropped by Mosquitto and reconnects with its new credential", async () => {
    const a = await joinedDevice(head);
    const b = await joinedDevice(head);
    try {
      await a.connect();
      await b.connect();
      const got: string[] = [];
      b.on("message", (m) => got.push(new TextDecoder().decode(m.data)));
      const ended: string[] = [];
      a.on("membership-ended", ({ reason }) => ended.push(reason));
      await a.send(b.deviceId, "before the new join");
      await waitUntil(() => got.includes("before the new join"), "the first message");

      await a.join(head.url, { position: INSIDE });
      await waitUntil(async () => (await a.status()).connected, "a connected with its new credential");
      await a.send(b.deviceId, "after the new join");
      await waitUntil(() => got.includes("after the new join"), "a message after the new join", 10_000);
      expect(ended).toEqual([]);
      expect((await a.status()).connected).toBe(true);
    } finally {
      await a.close();
      await b.close();
    }
  }, 40_000);
});
