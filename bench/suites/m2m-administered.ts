/**
 * The m2m suite's production-broker parts: a private Mosquitto with dynamic security over TLS,
 * administered by a real head (in this process, idle during the load) whose two joined members
 * hold a session, so every frame goes through TLS and the dynsec ACL check the head set up; and
 * the time from a revoke transaction on chain to the revoked device's broker connection closing,
 * on that broker and on the head's embedded broker (docs/mqtt.md § Mosquitto; goal ≤ 1 block + 1 s).
 * @module
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { brokerPassword } from "../../protocol/broker-credential";
import type { Membership } from "../../protocol/membership";
import { inboxTopic } from "../../transport/mqtt/topics";
import type { TestChain } from "../../testkit/chain";
import { startTestHead, type TestHead } from "../../testkit/head";
import { startDynsecMosquitto } from "../../testkit/mosquitto-dynsec";
import { makeTestPki } from "../../testkit/pki";
import { enrollDevices, grantRequest, joinOverHttp } from "../lib/devices";
import { nowMs } from "../lib/measure";
import type { PeerConnection } from "../lib/m2m-protocol";
import { benchHead } from "../lib/processes";

/** The head's index poll interval in production (config default): what revocation waits for. */
export const PRODUCT_POLL_INTERVAL_MS = 250;

/** A broker with a head, and a way to connect as one of its members. */
export interface AdministeredBroker {
  name: "embedded" | "mosquitto-dynsec-tls";
  head: TestHead;
  /** Connects as `m` (client ID = user name = device ID, its broker credential), never reconnecting. */
  connectAs(m: Membership): Promise<MqttClient>;
  /** What a device process needs to connect as `m` ({@link connectAs}'s URL and options). */
  connection(m: Membership): PeerConnection;
  stop(): Promise<void>;
}

const hex = (m: Membership) => Buffer.from(m.deviceId).toString("hex");

/** MQTT 3.1.1, clean session, never reconnecting: how the bench's devices connect. */
function connectWith({ url, ...rest }: PeerConnection): Promise<MqttClient> {
  return mqtt.connectAsync(url, { protocolVersion: 4, clean: true, reconnectPeriod: 0, ...rest });
}

/**
 * Starts a head on `chain` with its embedded broker, or administering a private Mosquitto with
 * dynamic security reached over TLS (test CA in a temp directory).
 */
export async function startAdministeredBroker(
  chain: TestChain,
  name: AdministeredBroker["name"],
  clusterId: number,
): Promise<AdministeredBroker> {
  const flags = { clusterId: String(clusterId), pollIntervalMs: String(PRODUCT_POLL_INTERVAL_MS) };
  if (name === "embedded") {
    const head = await startTestHead(chain, flags);
    const connection = (m: Membership): PeerConnection => ({
      url: head.broker.url,
      clientId: hex(m),
      username: hex(m),
      password: brokerPassword(m),
    });
    return {
      name,
      head,
      connection,
      connectAs: (m) => connectWith(connection(m)),
      stop: () => head.destroy(),
    };
  }
  const dir = mkdtempSync(join(tmpdir(), "iotguard-bench-pki-"));
  const pki = makeTestPki(dir);
  const broker = await startDynsecMosquitto({
    tls: { caFile: pki.caCert, certFile: pki.headCert, keyFile: pki.headKey },
    maxQueuedMessages: 1_000_000,
    extraConfig: ["max_packet_size 1048576"],
  });
  const ca = readFileSync(pki.caCert, "utf8");
  let head: TestHead;
  try {
    head = await startTestHead(chain, {
      ...flags,
      brokerUrl: broker.tlsUrl!,
      brokerCa: pki.caCert,
      brokerAdminFile: broker.adminFile,
    });
  } catch (error) {
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const connection = (m: Membership): PeerConnection => ({
    url: broker.tlsUrl!,
    clientId: hex(m),
    username: hex(m),
    password: brokerPassword(m),
    ca,
  });
  return {
    name,
    head,
    connection,
    connectAs: (m) => connectWith(connection(m)),
    async stop() {
      await head.destroy();
      await broker.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Two joined members with a session granted by the head (so the broker lets m1 write to m2's inbox). */
export async function memberPair(
  broker: AdministeredBroker,
): Promise<{ m1: Membership; m2: Membership; m2Inbox: string }> {
  const head = benchHead(broker.head, process.pid, async () => undefined);
  try {
    const { devices } = await enrollDevices(head, 2);
    const m1 = await joinOverHttp(head, devices[0]!);
    const m2 = await joinOverHttp(head, devices[1]!);
    const granted = await head.http.post("/v1/sessions", grantRequest(m1, m2, head.clusterId).message);
    if (granted.headers["x-iotguard-outcome"] !== "grant")
      throw new Error(`no session granted: ${granted.status} ${granted.body}`);
    const { topicPrefix, clusterId } = broker.head.context.config;
    return { m1, m2, m2Inbox: inboxTopic(topicPrefix, clusterId, hex(m2)) };
  } finally {
    head.http.close();
  }
}

/**
 * Revokes `count` connected members one by one with a transaction the head's key sends on chain
 * (not through the head's API, which would act at once), and times until the broker closes each
 * one's connection: from sending, and from the receipt (automine: the receipt is the block).
 */
export async function revokeToDisconnect(
  broker: AdministeredBroker,
  count: number,
): Promise<{ fromSend: number[]; fromReceipt: number[] }> {
  const head = benchHead(broker.head, process.pid, async () => undefined);
  const fromSend: number[] = [];
  const fromReceipt: number[] = [];
  try {
    const { devices } = await enrollDevices(head, count);
    for (const device of devices) {
      const m = await joinOverHttp(head, device);
      const client = await broker.connectAs(m);
      const closed = new Promise<number>((resolve) => client.once("close", () => resolve(nowMs())));
      const tSend = nowMs();
      const receipt = await (await broker.head.context.registry.revoke(`0x${device.deviceIdHex}`)).wait();
      const tMined = nowMs();
      if (receipt?.status !== 1) throw new Error("revoke failed");
      const tClosed = await Promise.race([
        closed,
        new Promise<number>((_, reject) =>
          setTimeout(
            () => reject(new Error(`${broker.name}: still connected 30 s after the revocation`)),
            30_000,
          ).unref(),
        ),
      ]);
      fromSend.push(tClosed - tSend);
      fromReceipt.push(tClosed - tMined);
      await client.endAsync(true);
    }
    // Let the head's broker changes for these revocations finish (a reconciliation waits for every
    // change in flight) before the caller stops it: closing the admin client under a command
    // still being sent is an unhandled rejection in DynsecControlClient.run.
    await broker.head.broker.dynsec?.reconcile();
  } finally {
    head.http.close();
  }
  return { fromSend, fromReceipt };
}
