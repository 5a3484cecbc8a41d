/**
 * A closed-loop MQTT load: one publisher and one subscriber client, at most `window` messages in
 * flight, encrypted (channel frame in an inbox envelope, opened by the receiver) or plaintext
 * (the same bytes as they are). End-to-end latency runs from before sealing to after opening.
 * @module
 */
import { randomBytes } from "node:crypto";
import mqtt, { type MqttClient } from "mqtt";
import type { Channel } from "../../protocol/channel/session";
import { decodeEnvelope, encodeEnvelope } from "../../transport/mqtt/envelope";
import { nowMs } from "./measure";

export async function connectClient(
  url: string,
  extra: Partial<mqtt.IClientOptions> = {},
): Promise<MqttClient> {
  const client = await mqtt.connectAsync(url, {
    protocolVersion: 4,
    clientId: `bench-${randomBytes(6).toString("hex")}`,
    clean: true,
    reconnectPeriod: 0,
    ...extra,
  });
  client.on("error", () => undefined); // a late socket error after the run must not crash the bench
  return client;
}

export interface LoadResult {
  sent: number;
  received: number;
  /** Messages per second received, first send to last receive. */
  rate: number;
  latenciesMs: number[];
  /** Bytes of MQTT payload sent per message (mean). */
  payloadBytes: number;
}

export interface LoadOptions {
  pub: MqttClient;
  sub: MqttClient;
  topic: string;
  qos: 0 | 1;
  /** Plaintext of message i (the first 4 bytes are overwritten with i). */
  message(i: number): Uint8Array;
  count: number;
  window: number;
  /** Encrypted mode: sender/receiver channels; plaintext mode when absent. */
  channels?: { initiator: Channel; responder: Channel; senderId: Uint8Array };
  /** Give up when nothing arrives for this long (messages lost). */
  stallMs?: number;
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  await o.sub.subscribeAsync(o.topic, { qos: o.qos });
  const sendAt = new Float64Array(o.count);
  const latenciesMs: number[] = [];
  let sent = 0;
  let received = 0;
  let payloadBytes = 0;
  let lastArrival = nowMs();
  const start = nowMs();
  let end = start;
  const done = new Promise<void>((resolve) => {
    const pump = () => {
      while (sent < o.count && sent - received < o.window) {
        const i = sent++;
        sendAt[i] = nowMs();
        const plain = o.message(i);
        new DataView(plain.buffer, plain.byteOffset, plain.byteLength).setUint32(0, i);
        const payload = o.channels
          ? encodeEnvelope(o.channels.senderId, o.channels.initiator.sender.seal(plain, Date.now()))
          : plain;
        payloadBytes += payload.length;
        o.pub.publish(o.topic, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), {
          qos: o.qos,
        });
      }
    };
    const onMessage = (topic: string, payload: Buffer) => {
      if (topic !== o.topic) return;
      const plain = o.channels
        ? o.channels.responder.receiver.open(decodeEnvelope(payload).message, Date.now()).plaintext
        : payload;
      const i = new DataView(plain.buffer, plain.byteOffset, plain.byteLength).getUint32(0);
      const t = nowMs();
      latenciesMs.push(t - (sendAt[i] as number));
      received++;
      lastArrival = t;
      if (received >= o.count) finish();
      else pump();
    };
    const stall = setInterval(() => {
      if (nowMs() - lastArrival > (o.stallMs ?? 3000)) finish();
    }, 250);
    let finished = false;
    function finish() {
      if (finished) return;
      finished = true;
      end = lastArrival;
      clearInterval(stall);
      o.sub.off("message", onMessage);
      resolve();
    }
    o.sub.on("message", onMessage);
    pump();
  });
  await done;
  await o.sub.unsubscribeAsync(o.topic);
  return {
    sent,
    received,
    rate: (received * 1000) / Math.max(1e-6, end - start),
    latenciesMs,
    payloadBytes: payloadBytes / Math.max(1, sent),
  };
}
