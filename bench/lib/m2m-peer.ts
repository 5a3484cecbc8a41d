/**
 * One device of the m2m suite in its own process (`node --import tsx bench/lib/m2m-peer.ts`, forked
 * with an IPC channel by bench/lib/m2m-peers.ts): its own MQTT connection, its own channel built
 * from its side of the granted session, its own core. The sender keeps at most `window` messages
 * between its send and the receiver's acknowledgement; the receiver acknowledges its cumulative
 * count once per event-loop turn over a Unix socket the sender listens on, and measures each
 * message's latency from the send time the sender wrote into the plaintext (before sealing) to
 * after opening.
 * @module
 */
import { writeFileSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { nativeSymmetricBackend } from "../../platform/sodium-symmetric-backend";
import { nobleBackend, useSymmetricBackend } from "../../protocol/crypto/backend";
import { type Channel, createChannel } from "../../protocol/channel/session";
import { decodeEnvelope } from "../../transport/mqtt/envelope";
import { batchWritesPerRead } from "../../transport/mqtt/write-batching";
import {
  ACK_BYTES,
  type FromPeer,
  type PeerConnection,
  type RunSpec,
  type ToPeer,
  wallMs,
} from "./m2m-protocol";

// As a device runs (device/sdk `useNativeCrypto`): node:crypto, with libsodium's ChaCha20-Poly1305.
useSymmetricBackend(
  process.env.IOTGUARD_CRYPTO_BACKEND === "noble" ? nobleBackend : nativeSymmetricBackend().backend,
);

function reply(message: FromPeer): void {
  process.send?.(message);
}

let client: MqttClient | undefined;
let role: "sender" | "receiver" = "sender";
let label = "";
let ackServer: Server | undefined;
let ackSocket: Socket | undefined;
/**
 * Under `--cpu-prof` (IOTGUARD_M2M_CPU_PROF): each run's start and end on the profile's clock
 * (CLOCK_MONOTONIC, µs), so a summary can keep the samples of the runs only.
 */
const PROFILE_DIR = process.env.IOTGUARD_M2M_CPU_PROF || undefined;
const windows: Array<{ mode: "plaintext" | "encrypted"; startUs: number; endUs: number }> = [];
const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);
/** This process's CPU time (user + system), µs. */
const cpuUs = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};
function profiled(run: RunSpec): () => void {
  if (run.unmeasured) return () => undefined;
  const startUs = monotonicUs();
  return () => windows.push({ mode: run.session ? "encrypted" : "plaintext", startUs, endUs: monotonicUs() });
}

/** Sender: called with (run ID, count) for each acknowledgement. */
let onAck: (id: number, count: number) => void = () => undefined;

async function connect(connection: PeerConnection, ackPath: string, as: typeof role): Promise<void> {
  role = as;
  const { url, ...rest } = connection;
  const options: IClientOptions = { protocolVersion: 4, clean: true, reconnectPeriod: 0, ...rest };
  client = await mqtt.connectAsync(url, options);
  client.on("error", () => undefined);
  // As the SDK's MqttTransport does (transport/mqtt/client.ts): no Nagle on the MQTT socket.
  (client.stream as { setNoDelay?: (noDelay: boolean) => void } | undefined)?.setNoDelay?.(true);
  // And like it, the acknowledgements of one read leave in one write
  // (transport/mqtt/write-batching.ts).
  batchWritesPerRead(client.stream);
  if (role === "sender") {
    await new Promise<void>((resolve, reject) => {
      ackServer = createServer((socket) => {
        socket.setNoDelay(true);
        let pending: Buffer = Buffer.alloc(0);
        socket.on("data", (chunk: Buffer) => {
          pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
          const whole = pending.length - (pending.length % ACK_BYTES);
          if (whole === 0) return;
          // Only the newest count matters: they are cumulative.
          onAck(pending.readUInt32BE(whole - ACK_BYTES), pending.readUInt32BE(whole - 4));
          pending = pending.subarray(whole);
        });
      });
      ackServer.once("error", reject);
      ackServer.listen(ackPath, () => resolve());
    });
  } else {
    ackSocket = await new Promise<Socket>((resolve, reject) => {
      const s = createConnection(ackPath, () => resolve(s));
      s.once("error", reject);
    });
    ackSocket.setNoDelay(true);
  }
}

function send(run: RunSpec): void {
  const c = client!;
  const channel: Channel | undefined = run.session ? createChannel(run.session) : undefined;
  let sent = 0;
  let acked = 0;
  let payloadBytes = 0;
  let lastAck = wallMs();
  const endWindow = profiled(run);
  const startCpu = cpuUs();
  const startMs = wallMs();
  const pump = () => {
    while (sent < run.count && sent - acked < run.window) {
      const i = sent++;
      const plain = Uint8Array.from(run.body);
      const view = new DataView(plain.buffer, plain.byteOffset, plain.byteLength);
      view.setUint32(0, i);
      view.setFloat64(4, wallMs());
      // The inbox envelope (sender ID || frame) built by the seal itself, in one array.
      const payload = channel ? channel.sender.sealWithPrefix(run.senderId!, plain, Date.now()) : plain;
      payloadBytes += payload.length;
      c.publish(run.topic, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), {
        qos: run.qos,
      });
    }
  };
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    endWindow();
    clearInterval(stall);
    onAck = () => undefined;
    channel?.sender.close();
    channel?.receiver.close();
    reply({
      kind: "sent",
      id: run.id,
      sent,
      startMs,
      payloadBytes: payloadBytes / Math.max(1, sent),
      cpuUs: cpuUs() - startCpu,
    });
  };
  onAck = (id, count) => {
    if (id !== run.id) return;
    acked = count;
    lastAck = wallMs();
    if (acked >= run.count) finish();
    else pump();
  };
  const stall = setInterval(() => {
    if (wallMs() - lastAck > run.stallMs) finish();
  }, 250);
  pump();
}

async function receive(run: RunSpec): Promise<void> {
  const c = client!;
  const channel: Channel | undefined = run.session ? createChannel(run.session) : undefined;
  const latenciesMs = new Float64Array(run.count);
  let received = 0;
  let lastArrivalMs = wallMs();
  let ackQueued = false;
  const ack = Buffer.alloc(ACK_BYTES);
  ack.writeUInt32BE(run.id, 0);
  // One cumulative acknowledgement per event-loop turn, however many messages the turn brought.
  const flushAck = () => {
    ackQueued = false;
    ack.writeUInt32BE(received, 4);
    ackSocket!.write(Buffer.from(ack));
  };
  const onMessage = (topic: string, payload: Buffer) => {
    if (topic !== run.topic) return;
    const plain = channel
      ? channel.receiver.open(decodeEnvelope(payload).message, Date.now()).plaintext
      : payload;
    const view = new DataView(plain.buffer, plain.byteOffset, plain.byteLength);
    const i = view.getUint32(0);
    const t = wallMs();
    if (received < run.count && i < run.count) latenciesMs[received] = t - view.getFloat64(4);
    received++;
    lastArrivalMs = t;
    if (received >= run.count) finish();
    else if (!ackQueued) {
      ackQueued = true;
      setImmediate(flushAck);
    }
  };
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    endWindow();
    const spentCpu = cpuUs() - startCpu;
    clearInterval(stall);
    c.off("message", onMessage);
    flushAck();
    channel?.sender.close();
    channel?.receiver.close();
    c.unsubscribeAsync(run.topic).then(
      () =>
        reply({
          kind: "received",
          id: run.id,
          received,
          lastArrivalMs,
          latenciesMs: latenciesMs.slice(0, Math.min(received, run.count)),
          cpuUs: spentCpu,
        }),
      (error: Error) => reply({ kind: "error", message: error.message }),
    );
  };
  let started = false;
  let endWindow = () => undefined as void;
  let startCpu = 0;
  const stall = setInterval(() => {
    if (started && wallMs() - lastArrivalMs > run.stallMs) finish();
  }, 250);
  c.on("message", onMessage);
  await c.subscribeAsync(run.topic, { qos: run.qos });
  started = true;
  endWindow = profiled(run);
  startCpu = cpuUs();
  lastArrivalMs = wallMs();
  reply({ kind: "ready", id: run.id });
}

async function stop(): Promise<void> {
  if (PROFILE_DIR)
    writeFileSync(join(PROFILE_DIR, `m2m-${label}${role}.windows.json`), JSON.stringify(windows));
  ackSocket?.destroy();
  await new Promise<void>((resolve) => (ackServer ? ackServer.close(() => resolve()) : resolve()));
  await client?.endAsync();
  process.disconnect?.();
}

process.on("message", (message: ToPeer) => {
  const step =
    message.kind === "connect"
      ? ((label = message.label),
        connect(message.connection, message.ackPath, message.role).then(() => reply({ kind: "connected" })))
      : message.kind === "run"
        ? role === "sender"
          ? Promise.resolve(send(message.run))
          : receive(message.run)
        : stop();
  step.catch((error: Error) => reply({ kind: "error", message: error.stack ?? error.message }));
});
