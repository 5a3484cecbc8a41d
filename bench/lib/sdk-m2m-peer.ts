/**
 * One SDK device of the m2m suite's `sdk-devices` case in its own process (forked with an IPC
 * channel by bench/suites/m2m-sdk.ts): it opens a device that already joined and holds a session
 * with its peer, connects, and then either sends `count` messages with at most `window` sends
 * waiting for their PUBACK (`device.send`, as an application does), or counts the `message` events
 * until `count` arrived. The parent compares them with plaintext MQTT peers on the same broker.
 * @module
 */
import { Device, type RegistryAnchor } from "../../device/sdk";

export type ToSdkPeer =
  | { kind: "open"; dataDir: string; registry: RegistryAnchor }
  | { kind: "receive"; id: number; count: number }
  | { kind: "send"; id: number; peerId: string; count: number; window: number; body: Uint8Array }
  | { kind: "stop" };

export type FromSdkPeer =
  | { kind: "opened"; deviceId: string }
  | { kind: "receiving"; id: number }
  | { kind: "sent"; id: number; startMs: number; cpuUs: number }
  | { kind: "received"; id: number; received: number; lastMs: number; cpuUs: number; dropped: number }
  | { kind: "error"; message: string };

let device: Device | undefined;
const reply = (m: FromSdkPeer) => process.send?.(m);
const cpuUs = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

async function open(dataDir: string, registry: RegistryAnchor): Promise<void> {
  device = await Device.open(dataDir, { registry });
  device.on("error", (e) => reply({ kind: "error", message: e.message }));
  await device.connect();
  reply({ kind: "opened", deviceId: device.deviceId });
}

function receive(id: number, count: number): void {
  const d = device!;
  let received = 0;
  let dropped = 0;
  let lastMs = Date.now();
  const startCpu = cpuUs();
  const stall = setInterval(() => {
    if (Date.now() - lastMs > 5000) finish();
  }, 250);
  const onDropped = () => dropped++;
  const onMessage = () => {
    received++;
    lastMs = Date.now();
    if (received >= count) finish();
  };
  let finished = false;
  function finish(): void {
    if (finished) return;
    finished = true;
    clearInterval(stall);
    d.off("message", onMessage);
    d.off("inbound-dropped", onDropped);
    reply({ kind: "received", id, received, lastMs, cpuUs: cpuUs() - startCpu, dropped });
  }
  d.on("message", onMessage);
  d.on("inbound-dropped", onDropped);
  reply({ kind: "receiving", id });
}

async function send(
  id: number,
  peerId: string,
  count: number,
  window: number,
  body: Uint8Array,
): Promise<void> {
  const d = device!;
  const startCpu = cpuUs();
  const startMs = Date.now();
  let next = 0;
  // `window` workers, each sending its next message once its previous one was acknowledged.
  const worker = async () => {
    while (next < count) {
      next++;
      await d.send(peerId, body);
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, count) }, worker));
  reply({ kind: "sent", id, startMs, cpuUs: cpuUs() - startCpu });
}

process.on("message", (m: ToSdkPeer) => {
  const step =
    m.kind === "open"
      ? open(m.dataDir, m.registry)
      : m.kind === "receive"
        ? Promise.resolve(receive(m.id, m.count))
        : m.kind === "send"
          ? send(m.id, m.peerId, m.count, m.window, m.body)
          : (async () => {
              await device?.close();
              process.disconnect?.();
            })();
  step.catch((error: Error) => reply({ kind: "error", message: error.stack ?? error.message }));
});
