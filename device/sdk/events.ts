/** Typed events of a {@link Device} (`device.on("message", ...)`). Device IDs are 64 lowercase hex. */

export interface SessionOpenedEvent {
  peerId: string;
  sessionId: string;
  role: "initiator" | "responder";
  expiresAt: number;
}

/** A session's key was replaced by a new grant with the same peer (docs/device.md § Key rotation). */
export interface SessionRotatedEvent {
  peerId: string;
  /** The session rotated away from: it drains, then is retired (`session-retired`). */
  previousSessionId: string;
  sessionId: string;
  /** Which limit was reached: frames sent under the old key, or its age. */
  reason: "messages" | "age";
  /** Sequence numbers used under the old key. */
  sent: bigint;
}

/** A session was closed and its keys and counters deleted from memory and from the store. */
export interface SessionRetiredEvent {
  peerId: string;
  sessionId: string;
  /**
   * `rotated` after a rotation's drain, `superseded` pushed out by newer sessions, `expired` found
   * past its limits at a send, `revoked` by a head notice, `ended` otherwise.
   */
  reason: "rotated" | "superseded" | "expired" | "revoked" | "ended";
}

export interface MessageEvent {
  from: string;
  data: Uint8Array;
  /** The frame's sequence number (unique per session and direction). */
  seq: bigint;
  sessionId: string;
}

export interface DeviceEvents {
  /** A join completed: a new K_m and broker credential. */
  joined: [info: { clusterId: number; expiresAt: number }];
  "session-opened": [info: SessionOpenedEvent];
  /** We replaced a session's key before it reached its message or age limit. */
  "session-rotated": [info: SessionRotatedEvent];
  /** A session's keys were deleted (after a rotation's drain, revocation, expiry, …). */
  "session-retired": [info: SessionRetiredEvent];
  /** A frame from a session peer verified and decrypted. */
  message: [message: MessageEvent];
  /** The head refused a peer that asked us for a session (GrantWarning, MAC'ed under our K_m). */
  warning: [info: { peerId: string; reason: string }];
  /** Every session with this peer ended (the head said it was revoked or re-keyed). */
  "peer-ended": [info: { peerId: string; reason: "revoked" }];
  /** Our own membership ended (head notice, or the broker refused our credential): join again. */
  "membership-ended": [info: { reason: string }];
  /** A failure in background work (an incoming session request the head could not answer, ...). */
  error: [error: Error];
  /**
   * An inbound message dropped unread by a per-sender limit (docs/device.md § Inbound limits):
   * `setup-limit` a SessionRequest over the sender's set-up rate, `queue-full` the sender's queue
   * was full. `from` is the sender's device ID, or `head` for ctl/warn traffic.
   */
  "inbound-dropped": [info: InboundDroppedEvent];
}

export interface InboundDroppedEvent {
  from: string;
  reason: "setup-limit" | "queue-full";
}

/** Counters of inbound and outbound traffic (no contents). */
export interface DeviceStats {
  sent: number;
  received: number;
  /** Frames dropped by the replay window (QoS 1 redelivery or a replay attack): silent. */
  replayed: number;
  /** Frames or control messages that failed verification (bad tag, wrong session, malformed). */
  refused: number;
  /** Inbound messages dropped unread by a per-sender limit (`inbound-dropped`); set once connected. */
  dropped?: number;
}
