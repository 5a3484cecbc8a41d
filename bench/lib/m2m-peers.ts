/**
 * A sender and a receiver device, each in its own process (bench/lib/m2m-peer.ts under tsx) with
 * its own MQTT connection, driven over IPC: the m2m suite's closed loop with `window` messages in
 * flight between the two processes, as devices are. Set `IOTGUARD_M2M_CPU_PROF=<dir>` to run both
 * peers under `node --cpu-prof` (one .cpuprofile each, written when they stop).
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { GrantedSession } from "../../protocol/grant/member";
import { IpcPeer } from "./ipc-peer";
import type { FromPeer, PeerConnection, RunSpec, ToPeer } from "./m2m-protocol";

export interface PeerLoadResult {
  sent: number;
  received: number;
  /** Messages per second received, the sender's first send to the receiver's last arrival. */
  rate: number;
  latenciesMs: number[];
  /** Bytes of MQTT payload sent per message (mean). */
  payloadBytes: number;
  /** CPU time (user + system) per message received, µs, of each peer process during the run. */
  cpuUsPerMessage: { sender: number; receiver: number };
}

/** One run: the same for both peers except each one's side of the session. */
export type PeerRun = Omit<RunSpec, "id" | "session" | "stallMs"> & {
  sessions?: { sender: GrantedSession; receiver: GrantedSession };
  stallMs?: number;
};

export interface PeerPair {
  /** Process IDs (sender, receiver), e.g. to sample their CPU. */
  pids: { sender: number; receiver: number };
  run(run: PeerRun): Promise<PeerLoadResult>;
  stop(): Promise<void>;
}

/** One channel peer process (bench/lib/m2m-peer.ts, or another entry point for an A/B). */
class Peer extends IpcPeer<ToPeer, FromPeer> {
  /** Asks the peer to disconnect and exit (so a CPU profile gets written); kills it if it does not. */
  override stop(): Promise<void> {
    return super.stop({ kind: "stop" });
  }
}

/** Forks and connects a sender and a receiver; `stop` ends both. */
export async function startPeers(
  connections: { sender: PeerConnection; receiver: PeerConnection },
  options: {
    /** The peer entry point, e.g. a copy built on other device code to compare with (A/B). */
    script?: string;
    /** Names this pair's profiles (`m2m-<label>-sender.cpuprofile`); default none. */
    label?: string;
  } = {},
): Promise<PeerPair> {
  const dir = mkdtempSync(join(tmpdir(), "iotguard-m2m-"));
  const ackPath = join(dir, "ack.sock");
  const script = options.script ?? "bench/lib/m2m-peer.ts";
  const prefix = options.label ? `${options.label}-` : "";
  const sender = new Peer(script, `${prefix}sender`);
  const receiver = new Peer(script, `${prefix}receiver`);
  let nextId = 1;
  const stop = async () => {
    await Promise.all([sender.stop(), receiver.stop()]);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // The sender listens for acknowledgements first, then the receiver connects to it.
    const sc = sender.next("connected");
    sender.send({ kind: "connect", role: "sender", connection: connections.sender, ackPath, label: prefix });
    await sc;
    const rc = receiver.next("connected");
    receiver.send({
      kind: "connect",
      role: "receiver",
      connection: connections.receiver,
      ackPath,
      label: prefix,
    });
    await rc;
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    pids: { sender: sender.child.pid as number, receiver: receiver.child.pid as number },
    async run(r) {
      const id = nextId++;
      const { sessions, ...rest } = r;
      const base: RunSpec = { ...rest, id, stallMs: r.stallMs ?? 3000 };
      const ready = receiver.next("ready");
      const got = receiver.next("received");
      receiver.send({ kind: "run", run: sessions ? { ...base, session: sessions.receiver } : base });
      await ready;
      const done = sender.next("sent");
      sender.send({ kind: "run", run: sessions ? { ...base, session: sessions.sender } : base });
      const [s, g] = await Promise.all([done, got]);
      return {
        sent: s.sent,
        received: g.received,
        rate: (g.received * 1000) / Math.max(1e-6, g.lastArrivalMs - s.startMs),
        latenciesMs: Array.from(g.latenciesMs),
        payloadBytes: s.payloadBytes,
        cpuUsPerMessage: {
          sender: s.cpuUs / Math.max(1, g.received),
          receiver: g.cpuUs / Math.max(1, g.received),
        },
      };
    },
    stop,
  };
}
