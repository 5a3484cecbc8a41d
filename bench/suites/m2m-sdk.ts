/**
 * The m2m suite's `sdk-devices` rows: QoS 1 messages per second between two device SDK processes
 * (bench/lib/sdk-m2m-peer.ts) that joined a real head and hold a session, through a private
 * Mosquitto, against plaintext MQTT peers (bench/lib/m2m-peers.ts) on the same broker in
 * alternating rounds. Unlike the channel rows, every message here takes the SDK's whole path: the
 * sequence reservation, the send queue, the inbox envelope, the per-sender inbound queue, the replay
 * window and the fsynced receive floor (group-committed) before the `message` event.
 * @module
 */
import { randomBytes } from "node:crypto";
import type { RegistryAnchor } from "../../device/sdk";
import type { TestChain } from "../../testkit/chain";
import { headRegistry, joinedDevice, nextEvent, tempDeviceDir } from "../../testkit/device";
import { startTestHead } from "../../testkit/head";
import { IpcPeer } from "../lib/ipc-peer";
import type { FromSdkPeer, ToSdkPeer } from "../lib/sdk-m2m-peer";
import { startPeers } from "../lib/m2m-peers";
import { median, row } from "../lib/measure";
import { startMosquitto } from "../lib/processes";
import type { Row } from "../lib/schema";

/** One SDK device process (bench/lib/sdk-m2m-peer.ts). */
class SdkPeer extends IpcPeer<ToSdkPeer, FromSdkPeer> {
  /** @param name names its profile under `IOTGUARD_M2M_CPU_PROF=<dir>` (as bench/lib/m2m-peers.ts) */
  constructor(name: string) {
    super("bench/lib/sdk-m2m-peer.ts", name);
  }

  override stop(): Promise<void> {
    return super.stop({ kind: "stop" });
  }
}

/** Two joined devices with a session, their data directories closed for the peer processes. */
async function devicePair(
  chain: TestChain,
  brokerUrl: string,
  clusterId: number,
): Promise<{ dirs: [string, string]; registry: RegistryAnchor; stop: () => Promise<void> }> {
  const topicPrefix = `iotguard-bench-sdk-${randomBytes(4).toString("hex")}`;
  const head = await startTestHead(chain, { brokerUrl, topicPrefix, clusterId: String(clusterId) });
  try {
    const a = await joinedDevice(head, { topicPrefix, dataDir: tempDeviceDir(head) });
    const b = await joinedDevice(head, { topicPrefix, dataDir: tempDeviceDir(head) });
    await a.connect();
    await b.connect();
    // The session is opened and confirmed here, so the timed runs start on it.
    const first = nextEvent(b, "message");
    await a.send(b.deviceId, "hello");
    await first;
    await a.close();
    await b.close();
    return { dirs: [a.dataDir, b.dataDir], registry: headRegistry(head), stop: () => head.destroy() };
  } catch (error) {
    await head.destroy();
    throw error;
  }
}

/**
 * SDK devices against plaintext peers, QoS 1 at `size` bytes with `window` sends waiting for a
 * PUBACK, `rounds` rounds of `count` messages each; the head heads `clusterId` (one no other head
 * of the same chain heads).
 */
export async function sdkDeviceRows(
  chain: TestChain,
  o: { size: number; count: number; rounds: number; window: number; clusterId: number },
): Promise<Row[]> {
  const broker = await startMosquitto();
  const cleanup: Array<() => Promise<void>> = [() => broker.stop()];
  try {
    const pair = await devicePair(chain, broker.url, o.clusterId);
    cleanup.push(pair.stop);
    const [sender, receiver] = [new SdkPeer("sdk-sender"), new SdkPeer("sdk-receiver")];
    cleanup.push(
      () => sender.stop(),
      () => receiver.stop(),
    );
    await sender.ask({ kind: "open", dataDir: pair.dirs[0], registry: pair.registry }, "opened");
    const { deviceId: receiverId } = await receiver.ask(
      { kind: "open", dataDir: pair.dirs[1], registry: pair.registry },
      "opened",
    );
    const client = () => ({ url: broker.url, clientId: `bench-${randomBytes(6).toString("hex")}` });
    const plainPeers = await startPeers({ sender: client(), receiver: client() });
    cleanup.push(() => plainPeers.stop());
    const body = randomBytes(o.size);
    let id = 0;
    const sdkRun = async (count: number) => {
      const runId = ++id;
      const got = receiver.next("received");
      await receiver.ask({ kind: "receive", id: runId, count }, "receiving");
      const sent = await sender.ask(
        { kind: "send", id: runId, peerId: receiverId, count, window: o.window, body },
        "sent",
      );
      const r = await got;
      return {
        rate: (r.received * 1000) / Math.max(1, r.lastMs - sent.startMs),
        lost: count - r.received,
        dropped: r.dropped,
        cpuUs: (sent.cpuUs + r.cpuUs) / Math.max(1, r.received),
      };
    };
    const plainRun = (count: number, unmeasured = false) =>
      plainPeers.run({
        topic: `iotguard-bench-sdk/${++id}`,
        qos: 1,
        count,
        window: o.window,
        body,
        ...(unmeasured ? { unmeasured } : {}),
      });
    // Unmeasured: compiles both paths first.
    await sdkRun(Math.min(o.count, 1000));
    await plainRun(Math.min(o.count, 1000), true);
    const sdk: Array<Awaited<ReturnType<typeof sdkRun>>> = [];
    const plain: Array<{ rate: number; cpuUs: number }> = [];
    for (let r = 0; r < o.rounds; r++) {
      const runs = [
        async () => sdk.push(await sdkRun(o.count)),
        async () => {
          const p = await plainRun(o.count);
          plain.push({ rate: p.rate, cpuUs: p.cpuUsPerMessage.sender + p.cpuUsPerMessage.receiver });
        },
      ];
      for (const run of r % 2 === 0 ? runs : runs.reverse()) await run();
    }
    const lost = sdk.reduce((n, s) => n + s.lost, 0);
    const dropped = sdk.reduce((n, s) => n + s.dropped, 0);
    const name = `sdk-devices/mosquitto/qos1/${o.size}B`;
    return [
      row("m2m", {
        case: name,
        unit: "msg/s",
        value: median(sdk.map((s) => s.rate)),
        baseline: { case: `${name}/plaintext`, value: median(plain.map((p) => p.rate)) },
        note: `two device SDK processes that joined a real head (device.send with ${o.window} sends waiting for their PUBACK; the receiver counts \`message\` events, each after its fsynced receive floor); median of ${o.rounds} rounds of ${o.count}, alternating with plaintext MQTT peers on the same private Mosquitto; per-round ratios ${sdk.map((s, r) => (s.rate / (plain[r] as { rate: number }).rate).toFixed(2)).join(", ")}; devices' CPU ${median(sdk.map((s) => s.cpuUs)).toFixed(1)} µs/msg (sender + receiver) vs ${median(plain.map((p) => p.cpuUs)).toFixed(1)} plaintext; ${lost} lost, ${dropped} dropped by the inbound limit`,
      }),
      row("m2m", {
        case: `${name}/plaintext`,
        unit: "msg/s",
        value: median(plain.map((p) => p.rate)),
        note: "plaintext MQTT peers (bench/lib/m2m-peer.ts) in the same rounds",
      }),
    ];
  } finally {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  }
}
