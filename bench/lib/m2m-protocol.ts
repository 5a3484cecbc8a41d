/**
 * What the m2m suite and its peer processes say to each other over Node's IPC channel (advanced
 * serialization, so byte arrays pass as they are). One peer sends, the other receives; the
 * receiver tells the sender how many messages it has taken in over a local socket of their own
 * (out of band, so the broker carries the same traffic in plaintext and encrypted runs).
 * @module
 */
import type { GrantedSession } from "../../protocol/grant/member";

/** How a peer reaches its broker: MQTT.js options that pass over IPC (no functions). */
export interface PeerConnection {
  url: string;
  clientId?: string;
  username?: string;
  password?: string;
  /** PEM of the CA for a TLS broker. */
  ca?: string;
}

/** One closed-loop run, the same for both peers. */
export interface RunSpec {
  /** Distinguishes this run's acknowledgements from a late one of the previous run. */
  id: number;
  topic: string;
  qos: 0 | 1;
  count: number;
  window: number;
  /** Plaintext of every message; bytes 0–3 carry the index and 4–11 the send time (ms, wall clock). */
  body: Uint8Array;
  /** The peer's side of the session (encrypted mode); plaintext when absent. */
  session?: GrantedSession;
  /** The sender's device ID in the inbox envelope (encrypted mode). */
  senderId?: Uint8Array;
  /** Give up when nothing arrives for this long (messages lost). */
  stallMs: number;
  /** A warm-up: left out of CPU profile windows. */
  unmeasured?: boolean;
}

export type ToPeer =
  | {
      kind: "connect";
      role: "sender" | "receiver";
      connection: PeerConnection;
      ackPath: string;
      /** Prefix of this peer's profile files ("" or "<label>-"). */
      label: string;
    }
  | { kind: "run"; run: RunSpec }
  | { kind: "stop" };

export type FromPeer =
  | { kind: "connected" }
  /** The receiver is subscribed; the sender may start. */
  | { kind: "ready"; id: number }
  | { kind: "sent"; id: number; sent: number; startMs: number; payloadBytes: number; cpuUs: number }
  | {
      kind: "received";
      id: number;
      received: number;
      lastArrivalMs: number;
      latenciesMs: Float64Array;
      cpuUs: number;
    }
  | { kind: "error"; message: string };

/** Wall-clock milliseconds with sub-millisecond resolution, comparable between processes. */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Bytes of one acknowledgement on the peers' socket: run ID and cumulative count, u32 each. */
export const ACK_BYTES = 8;
