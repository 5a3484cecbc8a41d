/**
 * Reconnection across a broker crash: a private Mosquitto (own config, free port) is SIGKILLed
 * and restarted on the same port while MQTT.js clients hold persistent sessions.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { MqttTransport } from "../../../transport/mqtt/client";
import { inboxTopic } from "../../../transport/mqtt/topics";
import {
  type PrivateMosquitto,
  randomDeviceId,
  randomPrefix,
  startPrivateMosquitto,
  waitFor,
} from "../../../testkit/brokers";

let mosq: PrivateMosquitto | undefined;
const open: MqttTransport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close(true)));
  await mosq?.stop();
  mosq = undefined;
});

async function transport(url: string, clientId: string): Promise<MqttTransport> {
  const t = await MqttTransport.connect(url, { clientId, clean: false, reconnectPeriodMs: 100 });
  open.push(t);
  return t;
}

const frame = (i: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(i, 0);
  return b;
};

describe("broker restart (private Mosquitto, SIGKILL)", () => {
  it("re-sends every frame whose PUBACK had not arrived; counts MQTT-layer duplicates and broker-side losses", async () => {
    mosq = await startPrivateMosquitto({ persistence: true });
    const topic = inboxTopic(randomPrefix(), 1, randomDeviceId());
    const sub = await transport(mosq.url, randomDeviceId());
    const counts = new Map<number, number>();
    sub.on("message", (_t, p) => counts.set(p.readUInt32BE(0), (counts.get(p.readUInt32BE(0)) ?? 0) + 1));
    await sub.subscribe([topic]);
    const pub = await transport(mosq.url, randomDeviceId());

    // Persist the subscriber's session (SIGUSR1) so it survives the crash; later state is lost.
    mosq.savePersistence();
    await waitFor(() => existsSync(join(mosq?.dir ?? "", "mosquitto.db")), "persistence file");

    const acked = new Set<number>();
    const sends: Promise<void>[] = [];
    const BURST = 5000;
    for (let i = 0; i < BURST; i++) sends.push(pub.publish(topic, frame(i)).then(() => void acked.add(i)));
    await waitFor(() => counts.size >= 50, "first frames of the burst");
    await mosq.kill();
    const ackedAtKill = new Set(acked);

    const DURING_OUTAGE = 50; // published while the broker is down: queued in MQTT.js
    for (let i = BURST; i < BURST + DURING_OUTAGE; i++)
      sends.push(pub.publish(topic, frame(i)).then(() => void acked.add(i)));
    await mosq.start();
    await Promise.all(sends); // every publish is eventually PUBACKed by the restarted broker

    const total = BURST + DURING_OUTAGE;
    const mustArrive = Array.from({ length: total }, (_, i) => i).filter((i) => !ackedAtKill.has(i));
    await waitFor(
      () => mustArrive.every((i) => counts.has(i)),
      "every frame unacknowledged at the kill",
      20_000,
    );

    const duplicates = [...counts.values()].reduce((n, c) => n + (c - 1), 0);
    const lostAfterAck = [...ackedAtKill].filter((i) => !counts.has(i)).length;
    console.log(
      `[broker restart] ${total} frames, ${ackedAtKill.size} PUBACKed before SIGKILL, ${mustArrive.length} re-sent by MQTT.js: ` +
        `all ${mustArrive.length} arrived; ${duplicates} MQTT-layer duplicates (left to the replay window); ` +
        `${lostAfterAck} PUBACKed frames lost inside the killed broker (not yet delivered, not persisted)`,
    );
    expect(mustArrive.every((i) => (counts.get(i) ?? 0) >= 1)).toBe(true);
    expect(mustArrive.length).toBeGreaterThanOrEqual(DURING_OUTAGE);
  });

  it("re-subscribes when the restarted broker has lost the session (persistence false)", async () => {
    mosq = await startPrivateMosquitto();
    const topic = inboxTopic(randomPrefix(), 1, randomDeviceId());
    const sub = await transport(mosq.url, randomDeviceId());
    const got: Buffer[] = [];
    sub.on("message", (_t, p) => got.push(p));
    await sub.subscribe([topic]);
    const pub = await transport(mosq.url, randomDeviceId());
    const sessions: boolean[] = [];
    sub.on("connect", (info) => sessions.push(info.sessionPresent));
    const resubscribed = new Promise<string[]>((resolve) => sub.once("resubscribed", resolve));

    await mosq.kill();
    await mosq.start();
    expect(await resubscribed).toEqual([topic]);
    expect(sessions[0]).toBe(false);
    await waitFor(() => pub.connected, "publisher reconnect");
    await pub.publish(topic, Buffer.from([0xab]));
    await waitFor(() => got.length === 1, "frame after restart");
    expect(got[0]).toEqual(Buffer.from([0xab]));
  });
});
