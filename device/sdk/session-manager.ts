/**
 * Sessions with peers over MQTT (docs/device.md § Sessions): M1 sends a SessionRequest for M2
 * through the head (its own set-up topic; the head relays it to M2's inbox); M2 wraps it and asks
 * the head, which delivers M1's Grant on M1's ctl topic itself, or, when it could not, answers M2
 * with both Grants and M2 forwards M1's the same way as the request (docs/protocol.md § Direct
 * delivery of M1's Grant); then both send channel frames straight to each other's inbox. Inbound
 * traffic is handled in arrival order per sender (one bounded queue per peer, one for the head),
 * so a peer that floods us or waits on the head delays only itself; frames that overtake the Grant
 * of their session are held until it arrives. Session set-ups, which cost a level write and a call
 * to the head, are rate-limited per peer (inbound-queue.ts).
 *
 * Nonces: every sender sequence number comes from a {@link SequenceReservation} persisted in
 * level before use, so a restart skips ahead instead of reusing one. Replays: the channel's
 * window, plus a persisted floor (the highest sequence number accepted) that survives restarts.
 */
import {
  acceptGrant,
  acceptGrantWarning,
  AeadSuite,
  type ChannelReceiver,
  type ChannelSender,
  createChannel,
  createGrantRequest,
  createSessionRequest,
  decodeFrame,
  decodeGrantWarning,
  equalBytes,
  type ErrorCode,
  fromHex,
  type GrantedSession,
  isProtocolError,
  MAX_MESSAGES_PER_KEY,
  type Membership,
  MessageType,
  NoticeKind,
  openHeadNotice,
  peekType,
  type PendingGrant,
  Role,
  SequenceReservation,
  toHex,
} from "../../protocol";
import type { Envelope } from "../../transport/mqtt";
import { DeviceError } from "./errors";
import type {
  DeviceEvents,
  DeviceStats,
  InboundDroppedEvent,
  MessageEvent,
  SessionRetiredEvent,
} from "./events";
import type { HeadClient } from "./head-client";
import { type InboundLimits, inboundLimits, KeyedQueues, TokenBuckets } from "./inbound-queue";
import type { PendingStore } from "./store/pending-store";
import type { LevelSequenceStore } from "./store/sequence-store";
import type { SessionStore } from "./store/session-store";
import { type Deferred, handledDeferred } from "../../platform/deferred";

/** Sessions kept per peer: the current one and the one before (frames in flight during a re-grant). */
const SESSIONS_PER_PEER = 2;
/** A session this close to expiry or to its message limit is re-granted before use. */
const REGRANT_MARGIN_MS = 5_000;
const REGRANT_MARGIN_SEQ = 1024n;

/**
 * Frames one direction key may seal before the session is rotated, per AEAD suite (docs/protocol.md
 * § Key rotation). AES-256-GCM: RFC 8446 §5.5 allows 2^24.5 records of 2^14 bytes (≈ 2^34.5 AES
 * blocks, AE advantage ≈ 2^-57, the figure the CFRG aead-limits draft's q + s bound also gives);
 * our frames carry up to 2^16 bytes, 4× a TLS record, so 2^22.5 frames, rounded down to 2^22.
 * ChaCha20-Poly1305 has no confidentiality limit below the 2^32 frames a key allows anyway
 * (RFC 8446 §5.5: the sequence number wraps first), so it is the protocol's E_LIMIT minus the margin.
 */
export const AEAD_FRAME_LIMITS: Readonly<Record<AeadSuite, bigint>> = Object.freeze({
  [AeadSuite.AES_256_GCM]: 1n << 22n,
  [AeadSuite.CHACHA20_POLY1305]: MAX_MESSAGES_PER_KEY - REGRANT_MARGIN_SEQ,
});
/**
 * The AEAD suite the SDK proposes in its SessionRequests unless told otherwise
 * ({@link SessionManagerDeps.channelSuite}): ChaCha20-Poly1305. Both suites are 256-bit AEADs with
 * 128-bit tags (docs/protocol.md § Channel); ChaCha20-Poly1305 allows more frames per key (no
 * 2^22 limit) and needs no AES hardware for constant time, and with libsodium
 * (platform/sodium-symmetric-backend.ts) a 256-byte frame costs 1.4 µs to seal against about 12 µs
 * for AES-256-GCM through node:crypto, whose cipher object per call dominates (bench/results, m2m).
 */
export const DEFAULT_CHANNEL_SUITE: AeadSuite = AeadSuite.CHACHA20_POLY1305;
/** By default the initiator rotates this long before the grant's expiresAt (at most a tenth of the lifetime). */
const ROTATE_BEFORE_EXPIRY_MS = 60_000;

/** When a session's key is replaced by a new grant with the same peer (docs/device.md § Key rotation). */
export interface RotationPolicy {
  /** Frames we send under one key before rotating; default {@link AEAD_FRAME_LIMITS} of the suite. */
  maxMessages?: bigint;
  /** Age (ms since the grant was issued) at which the initiator rotates; default: 60 s before expiry. */
  maxAgeMs?: number;
  /**
   * How long the previous session still opens frames after the switch (frames already in flight);
   * then its keys are deleted. Default 5,000 ms.
   */
  drainMs?: number;
}

export const DEFAULT_DRAIN_MS = 5_000;

/**
 * Checks a rotation policy once, up front.
 * @throws DeviceError E_BAD_ARGUMENT naming the setting
 */
export function rotationPolicy(given: RotationPolicy = {}): RotationPolicy & { drainMs: number } {
  const { maxMessages, maxAgeMs, drainMs = DEFAULT_DRAIN_MS } = given;
  if (
    maxMessages !== undefined &&
    (typeof maxMessages !== "bigint" || maxMessages < 1n || maxMessages > MAX_MESSAGES_PER_KEY)
  )
    throw new DeviceError(
      "E_BAD_ARGUMENT",
      `rotation.maxMessages: expected a bigint in 1..2^32, got ${String(maxMessages)}`,
    );
  if (maxAgeMs !== undefined && (!Number.isSafeInteger(maxAgeMs) || maxAgeMs < 1))
    throw new DeviceError(
      "E_BAD_ARGUMENT",
      `rotation.maxAgeMs: expected a positive integer, got ${String(maxAgeMs)}`,
    );
  if (!Number.isSafeInteger(drainMs) || drainMs < 0)
    throw new DeviceError(
      "E_BAD_ARGUMENT",
      `rotation.drainMs: expected an integer ≥ 0, got ${String(drainMs)}`,
    );
  return {
    ...(maxMessages === undefined ? {} : { maxMessages }),
    ...(maxAgeMs === undefined ? {} : { maxAgeMs }),
    drainMs,
  };
}
/** Pending nonces older than this are forgotten. */
const PENDING_TTL_MS = 5 * 60_000;
/** Queue key of the head's ctl and warn traffic (sender keys are 64 hex). */
const HEAD_QUEUE = "head";
/**
 * Frames handed to MQTT and not yet acknowledged, at most: the next send waits for a PUBACK. Far
 * below MQTT's 65,535 packet IDs, which MQTT.js hands out in turn without checking that one is
 * free; and sealed frames wait in memory while the broker is away.
 */
export const MAX_SENDS_IN_FLIGHT = 1000;
/**
 * Frames accepted and waiting for their floor write, over all senders, at which the device stops
 * taking messages from the broker ({@link SessionManager.inboundBacklog}), and at which it takes
 * them again. The disk is every sender's bottleneck alike; below the per-sender limit, so a
 * legitimate sender is held back, not dropped.
 */
export const INBOUND_BACKLOG = { hold: 512, resume: 256 } as const;
/**
 * Frames held per peer while our Grant for a new session with it is on its way (see
 * {@link SessionManager.onFrame}); beyond this they are refused as before.
 */
const MAX_HELD_FRAMES_PER_PEER = 64;

interface LiveSession {
  sessionId: string;
  shortId: string;
  peerId: string;
  role: Role;
  expiresAt: number;
  issuedAt: number;
  sender: ChannelSender;
  receiver: ChannelReceiver;
  reservation: SequenceReservation;
  /** Highest sequence number accepted before this process loaded the session: at or below it is a replay. */
  restartFloor: bigint;
  /** Highest sequence number accepted from the peer (persisted, or being written by `floorWrite`). */
  highest: bigint;
  /**
   * The newest write of this session's receive floor: once it is on disk, so is a floor at or
   * above every frame accepted on the session so far. A frame is delivered only after it.
   */
  floorWrite: Promise<void>;
  /** Rotate before sealing sequence number `rotateAtSeq`, or at `rotateAtMs` (see {@link RotationPolicy}). */
  rotateAtSeq: bigint;
  rotateAtMs: number;
  /** Closed, and its keys deleted (or being deleted). */
  retired: boolean;
  /** A retirement is scheduled (the drain after a rotation). */
  draining: boolean;
}

interface Waiter {
  resolve(session: LiveSession): void;
  reject(error: Error): void;
}

export interface SessionManagerDeps {
  clusterId: number;
  membership: Membership;
  head: HeadClient;
  /** Publishes a channel frame to the peer's inbox (resolves on PUBACK). */
  sendTo(peerIdHex: string, message: Uint8Array): Promise<void>;
  /**
   * Publishes a session set-up message for the peer (our SessionRequest, or the Grant we forward as
   * M2) to our own set-up topic; the head relays it to the peer's inbox (docs/mqtt.md § Session
   * set-up through the head). Resolves on PUBACK.
   */
  sendSetup(peerIdHex: string, message: Uint8Array): Promise<void>;
  sessions: SessionStore;
  pending: PendingStore;
  sequences: LevelSequenceStore;
  emit<K extends keyof DeviceEvents>(event: K, ...args: DeviceEvents[K]): void;
  now(): number;
  grantTimeoutMs: number;
  /** K of the sequence reservation (default 1024). */
  sequenceBlock?: bigint;
  /** Per-sender limits on inbound work; defaults in `DEFAULT_INBOUND_LIMITS` (inbound-queue.ts). */
  inboundLimits?: Partial<InboundLimits>;
  /** When to rotate session keys; defaults from the AEAD limits ({@link RotationPolicy}). */
  rotation?: RotationPolicy;
  /** The AEAD suite our SessionRequests propose; default {@link DEFAULT_CHANNEL_SUITE}. */
  channelSuite?: AeadSuite;
  /**
   * Publishes an inbox envelope already built (`our device ID || frame`, sealed in one array by
   * `sealWithPrefix`) to the peer's inbox; resolves on PUBACK. Without it frames go through
   * {@link sendTo}, which copies them into an envelope.
   */
  sendEnvelope?(peerIdHex: string, envelope: Uint8Array): Promise<void>;
}

export class SessionManager {
  readonly stats: Required<DeviceStats> = { sent: 0, received: 0, replayed: 0, refused: 0, dropped: 0 };
  private readonly byPeer = new Map<string, LiveSession[]>();
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly opening = new Map<string, Promise<LiveSession>>();
  /** Frames that arrived before the Grant of the session they belong to, per peer (see onFrame). */
  private readonly held = new Map<string, Uint8Array[]>();
  private pendingGrants: PendingGrant[] = [];
  private readonly inbound: KeyedQueues;
  private readonly setups: TokenBuckets;
  private outbound: Promise<unknown> = Promise.resolve();
  /** Accepted frames waiting for their floor write, in order (see deliverAfter); never rejects. */
  private deliveries: Promise<void> = Promise.resolve();
  /** Per sender: its frames accepted and not yet delivered (they count against its inbound limit). */
  private readonly undelivered = new Map<string, number>();
  private readonly maxQueuedPerSender: number;
  /** Frames accepted and waiting for their floor write, over all senders. */
  private undeliveredTotal = 0;
  /** Resolved once {@link undeliveredTotal} is down to {@link INBOUND_BACKLOG}.resume. */
  private backlogDrained: Deferred | undefined;
  /** PUBACKs of frames handed to MQTT and not yet acknowledged (see send). */
  private readonly unacked = new Set<Promise<void>>();
  /** Wakes the send waiting for a free slot under {@link MAX_SENDS_IN_FLIGHT}. */
  private slotFreed: (() => void) | undefined;
  private closed = false;
  private readonly rotation: ReturnType<typeof rotationPolicy>;
  /** Retirements waiting for their drain to end (run at once on close). */
  private readonly drains = new Map<LiveSession, NodeJS.Timeout>();

  /** @throws DeviceError E_BAD_ARGUMENT for a bad `inboundLimits` or `rotation` setting */
  constructor(private readonly d: SessionManagerDeps) {
    this.rotation = rotationPolicy(d.rotation);
    const limits = inboundLimits(d.inboundLimits);
    this.maxQueuedPerSender = limits.maxQueuedPerSender;
    this.inbound = new KeyedQueues(limits.maxQueuedPerSender, (error) => this.report(error));
    this.setups = new TokenBuckets(limits.setupBurst, limits.setupRefillMs);
  }

  /** Loads stored sessions and pending nonces (after a restart). Expired sessions are deleted. */
  async restore(): Promise<void> {
    const now = this.d.now();
    await this.d.pending.sweep(now - PENDING_TTL_MS);
    this.pendingGrants = await this.d.pending.list();
    const stored = (await this.d.sessions.list()).sort((a, b) => a.issuedAt - b.issuedAt);
    for (const s of stored) {
      if (s.expiresAt <= now) {
        s.sessionKey.fill(0);
        await this.forget(toHex(s.sessionId), s.role);
      } else await this.install(s, false);
    }
  }

  /** Peers with a live session, and until when. */
  list(): {
    peerId: string;
    sessionId: string;
    role: "initiator" | "responder";
    expiresAt: number;
    nextSeq: bigint;
  }[] {
    return [...this.byPeer.values()].flat().map((s) => ({
      peerId: s.peerId,
      sessionId: s.sessionId,
      role: s.role === Role.INITIATOR ? "initiator" : "responder",
      expiresAt: s.expiresAt,
      nextSeq: s.reservation.peek,
    }));
  }

  // ----- outbound ------------------------------------------------------------------------------

  /**
   * Opens a session with `peerId` as initiator; resolves once our Grant is accepted and frames can
   * flow. Concurrent calls for one peer share the attempt.
   * @throws DeviceError E_PEER_TIMEOUT when no Grant arrives in time (peer offline, or the head
   *   refused us and warned the peer instead)
   */
  openSession(peerId: string): Promise<LiveSession> {
    this.assertOpen();
    const running = this.opening.get(peerId);
    if (running) return running;
    const attempt = this.requestSession(peerId).finally(() => {
      this.opening.delete(peerId);
      this.dropHeld(peerId);
    });
    this.opening.set(peerId, attempt);
    return attempt;
  }

  private async requestSession(peerId: string): Promise<LiveSession> {
    const { message, pending } = createSessionRequest({
      membership: this.d.membership,
      clusterId: this.d.clusterId,
      peerId: fromHex(peerId),
      now: this.d.now(),
      suite: this.d.channelSuite ?? DEFAULT_CHANNEL_SUITE,
    });
    await this.d.pending.put(pending);
    this.pendingGrants.push(pending);
    const granted = new Promise<LiveSession>((resolve, reject) => {
      const list = this.waiters.get(peerId) ?? [];
      const timer = setTimeout(() => {
        this.waiters.set(
          peerId,
          (this.waiters.get(peerId) ?? []).filter((w) => w !== waiter),
        );
        reject(
          new DeviceError(
            "E_PEER_TIMEOUT",
            `no session grant from ${peerId.slice(0, 12)}… within ${this.d.grantTimeoutMs} ms: is the peer joined and listening?`,
          ),
        );
      }, this.d.grantTimeoutMs);
      const waiter: Waiter = {
        resolve: (s) => {
          clearTimeout(timer);
          resolve(s);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      list.push(waiter);
      this.waiters.set(peerId, list);
    });
    // It may fail (timeout, close) while the PUBACK below is awaited: handled here, returned below.
    granted.catch(() => undefined);
    await this.d.sendSetup(peerId, message);
    return granted;
  }

  /** Why the session we send on must be replaced before its next frame, if it must. */
  private rotationDue(s: LiveSession): "messages" | "age" | undefined {
    if (s.reservation.peek >= s.rotateAtSeq) return "messages";
    if (s.rotateAtMs <= this.d.now()) return "age";
    return undefined;
  }

  /**
   * The session to send on: the newest one with `peerId`, or a new one when there is none or it is
   * due for rotation. A rotation opens the new session (every earlier frame has been handed to the
   * MQTT client before our SessionRequest: sends are serialised up to the publish), emits
   * `session-rotated`, and retires the old session after the drain, so frames already in flight
   * under it still open on both sides.
   */
  private async sendingSession(peerId: string): Promise<LiveSession> {
    const s = this.byPeer.get(peerId)?.[0];
    if (!s) return this.openSession(peerId);
    const reason = this.rotationDue(s);
    if (!reason) return s;
    const next = await this.openSession(peerId);
    if (next !== s && !s.retired) {
      this.d.emit("session-rotated", {
        peerId,
        previousSessionId: s.sessionId,
        sessionId: next.sessionId,
        reason,
        sent: s.reservation.peek,
      });
      this.drainAndRetire(s);
    }
    return next;
  }

  /**
   * Encrypts `data` for `peerId` and publishes it (resolves on PUBACK). Opens, re-grants or rotates
   * the session when needed. Sends are serialised up to the publish, not up to its PUBACK: frames
   * are sealed and handed to the MQTT client in sequence order (one connection's QoS 1 publishes
   * stay in order), so no frame under a new key overtakes one under the old, and the next send is
   * sealed while this one waits for the broker's acknowledgement.
   * @returns the sequence number used
   */
  send(peerId: string, data: Uint8Array): Promise<bigint> {
    this.assertOpen();
    const published = this.outbound.then(async () => {
      // MQTT numbers QoS 1 publishes with 16-bit IDs that MQTT.js reuses without checking, and
      // sealed frames wait in memory while offline: a bounded number in flight.
      while (this.unacked.size >= MAX_SENDS_IN_FLIGHT) await new Promise<void>((r) => (this.slotFreed = r));
      for (let attempt = 0; ; attempt++) {
        const s = await this.sendingSession(peerId);
        try {
          const seq = await s.reservation.next();
          // The envelope (our ID || frame) sealed in one array: no second copy per message.
          const acked = this.d.sendEnvelope
            ? this.d.sendEnvelope(
                peerId,
                s.sender.sealWithPrefix(this.d.membership.deviceId, data, this.d.now(), seq),
              )
            : this.d.sendTo(peerId, s.sender.seal(data, this.d.now(), seq));
          this.track(acked);
          return { seq, acked };
        } catch (error) {
          // A session that expired or ran out of numbers between the check and the seal: re-grant once.
          if (attempt === 0 && (isProtocolError(error, "E_EXPIRED") || isProtocolError(error, "E_LIMIT"))) {
            await this.retire(s, "expired");
            continue;
          }
          throw error;
        }
      }
    });
    this.outbound = published.catch(() => undefined);
    return published.then(async ({ seq, acked }) => {
      await acked;
      this.stats.sent++;
      return seq;
    });
  }

  /** Counts `acked` in flight until it settles (handled here: its caller awaits it later). */
  private track(acked: Promise<void>): void {
    this.unacked.add(acked);
    const settled = () => {
      this.unacked.delete(acked);
      const wake = this.slotFreed;
      this.slotFreed = undefined;
      wake?.();
    };
    acked.then(settled, settled);
  }

  // ----- inbound -------------------------------------------------------------------------------

  /**
   * Queues an inbox envelope behind the same sender's earlier ones. A SessionRequest over the
   * sender's set-up rate, or anything while its queue is full, is dropped before any work (no
   * level write, no head call) and reported as `inbound-dropped`.
   */
  handleInbox(envelope: Envelope): void {
    const from = envelope.senderId;
    // Frames accepted and waiting for their floor write count too: they hold plaintext in memory.
    if (this.inbound.size(from) + (this.undelivered.get(from) ?? 0) >= this.maxQueuedPerSender)
      return this.drop(from, "queue-full");
    if (envelope.type === MessageType.SESSION_REQUEST && !this.setups.take(from, this.d.now()))
      return this.drop(from, "setup-limit");
    this.inbound.push(from, () => this.dispatch(envelope));
  }

  /**
   * Queues what the head sent on our ctl topic: a HeadNotice, or our Grant as initiator, which the
   * head delivers there itself (docs/protocol.md § Direct delivery of M1's Grant).
   */
  handleControl(message: Uint8Array): void {
    this.enqueueHead(async () => {
      const type = this.typeOf(message);
      if (type === undefined) return;
      // The same checks as for a Grant M2 forwards: the AEAD under our K_m names both members.
      if (type === MessageType.GRANT) return this.onGrant(undefined, message);
      return this.onNotice(message);
    });
  }

  /** Queues a GrantWarning from the warn topic (normally already handled from the HTTP answer). */
  handleWarning(message: Uint8Array): void {
    this.enqueueHead(async () => {
      try {
        const reason = acceptGrantWarning(message, this.d.membership, this.pendingGrants);
        const p = this.pendingGrants.find((x) => x.used);
        if (p) await this.dropPending(p);
        this.d.emit("warning", { peerId: p ? toHex(p.peerId) : "", reason });
      } catch {
        // E_UNKNOWN_NONCE / E_REPLAY: the HTTP answer already carried it.
      }
    });
  }

  /**
   * Whether `error`, from accepting the head's HTTP answer `warning` to our request `pending`, only
   * means the same warning came first on our warn topic: the head publishes it there too, and
   * handleWarning then took this request's nonce (it is no longer pending) and told the warning.
   * Any other refusal (another nonce, a bad MAC, garbled bytes) is not that.
   */
  private toldOnWarnTopic(error: unknown, warning: Uint8Array, pending: PendingGrant): boolean {
    if (!isProtocolError(error) || (error.code !== "E_UNKNOWN_NONCE" && error.code !== "E_REPLAY"))
      return false;
    if (this.pendingGrants.includes(pending)) return false;
    try {
      return equalBytes(decodeGrantWarning(warning).nonce, pending.nonce);
    } catch {
      return false;
    }
  }

  /**
   * For the MQTT link's flow control: undefined while fewer than {@link INBOUND_BACKLOG}.hold
   * frames wait for their floor write, otherwise a promise that resolves once they are down to
   * `resume`. Frames behind a set-up that waits on the head are not counted: one sender's hung
   * set-up must not stop the others (§ Inbound limits); its queue limit drops them instead.
   */
  inboundBacklog(): Promise<void> | undefined {
    // Closing: nothing more is taken in; unacknowledged, the broker keeps it for the next start.
    if (this.closed) return Promise.reject(new DeviceError("E_CLOSED", "the device is closing"));
    if (this.undeliveredTotal < INBOUND_BACKLOG.hold) return undefined;
    this.backlogDrained ??= handledDeferred();
    return this.backlogDrained.promise;
  }

  /** Resolves when everything queued so far, from every sender, has been handled. */
  async idle(): Promise<void> {
    await this.inbound.idle();
    await this.deliveries;
  }

  /** The message's type, or undefined (counted as refused) when it is too short to have one. */
  private typeOf(message: Uint8Array): number | undefined {
    try {
      return peekType(message);
    } catch {
      this.stats.refused++;
      return undefined;
    }
  }

  private enqueueHead(task: () => Promise<void>): void {
    if (!this.inbound.push(HEAD_QUEUE, task)) this.drop(HEAD_QUEUE, "queue-full");
  }

  private drop(from: string, reason: InboundDroppedEvent["reason"]): void {
    this.stats.dropped++;
    if (this.closed) return;
    try {
      this.d.emit("inbound-dropped", { from, reason });
    } catch (error) {
      // Called from MQTT.js's packet handling: a throwing listener must not stop it.
      this.report(error);
    }
  }

  private async dispatch({ senderId, message }: Envelope): Promise<void> {
    if (this.closed) return;
    const type = this.typeOf(message);
    if (type === undefined) return;
    switch (type) {
      case MessageType.SESSION_REQUEST:
        return this.onSessionRequest(senderId, message);
      case MessageType.GRANT:
        return this.onGrant(senderId, message);
      case MessageType.FRAME_I2R:
      case MessageType.FRAME_R2I:
        return this.onFrame(senderId, message);
      default:
        this.stats.refused++;
    }
  }

  /** M2: wrap the request, ask the head, keep our Grant, forward M1's unless the head delivered it. */
  private async onSessionRequest(peerId: string, message: Uint8Array): Promise<void> {
    let request: ReturnType<typeof createGrantRequest>;
    try {
      request = createGrantRequest({
        membership: this.d.membership,
        clusterId: this.d.clusterId,
        peerId: fromHex(peerId),
        sessionRequest: message,
        now: this.d.now(),
      });
    } catch (error) {
      if (!isProtocolError(error)) throw error;
      this.stats.refused++;
      return;
    }
    this.pendingGrants.push(request.pending);
    await this.d.pending.put(request.pending);
    let answer: Awaited<ReturnType<HeadClient["grant"]>>;
    try {
      answer = await this.d.head.grant(request.message);
    } catch (error) {
      await this.dropPending(request.pending);
      throw error;
    }
    if (answer.kind === "warning") {
      let reason: ErrorCode;
      try {
        reason = acceptGrantWarning(answer.warning, this.d.membership, this.pendingGrants);
      } catch (error) {
        if (this.toldOnWarnTopic(error, answer.warning, request.pending)) return;
        await this.dropPending(request.pending);
        throw error;
      }
      await this.dropPending(request.pending);
      this.d.emit("warning", { peerId, reason });
      return;
    }
    const granted = acceptGrant(answer.toResponder, this.d.membership, this.pendingGrants, this.d.now());
    await this.dropPending(request.pending);
    const live = await this.install(granted, true);
    // The fallback (docs/protocol.md § Direct delivery of M1's Grant): the head could not publish it.
    if (answer.kind === "grant") await this.d.sendSetup(peerId, answer.toInitiator);
    this.d.emit("session-opened", {
      peerId,
      sessionId: live.sessionId,
      role: "responder",
      expiresAt: live.expiresAt,
    });
  }

  /**
   * M1: our Grant, from the head on our ctl topic (`from` undefined) or forwarded by M2 through the
   * head's relay (`from` = the envelope's sender). The AEAD binds both identities, so a lying
   * envelope fails here.
   */
  private async onGrant(from: string | undefined, message: Uint8Array): Promise<void> {
    let granted: GrantedSession;
    try {
      granted = acceptGrant(message, this.d.membership, this.pendingGrants, this.d.now());
    } catch (error) {
      if (!isProtocolError(error)) throw error;
      this.stats.refused++;
      return;
    }
    const pending = this.pendingGrants.find((p) => p.used);
    if (pending) await this.dropPending(pending);
    const live = await this.install(granted, true);
    const waiters = this.waiters.get(live.peerId) ?? [];
    this.waiters.delete(live.peerId);
    // Taken before the waiters resolve: openSession's clean-up then finds nothing left to drop.
    const held = this.held.get(live.peerId) ?? [];
    this.held.delete(live.peerId);
    for (const w of waiters) w.resolve(live);
    this.d.emit("session-opened", {
      peerId: live.peerId,
      sessionId: live.sessionId,
      role: "initiator",
      expiresAt: live.expiresAt,
    });
    // A relayed Grant whose envelope names another peer: cannot happen unless the AEAD was fooled.
    if (from !== undefined && live.peerId !== from) this.stats.refused++;
    for (const frame of held) await this.onFrame(live.peerId, frame, false);
  }

  /** Refuses the frames still held for `peerId` (its session set-up ended without our Grant). */
  private dropHeld(peerId: string): void {
    this.stats.refused += this.held.get(peerId)?.length ?? 0;
    this.held.delete(peerId);
  }

  /**
   * @param mayHold hold a frame of an unknown session while we are opening one with `peerId`: our
   *   Grant comes from the head (on our ctl topic, or relayed for M2: docs/protocol.md § Direct
   *   delivery of M1's Grant) but M2 sends its frames straight to our inbox, so its first frames on
   *   the new session can overtake the Grant.
   */
  private async onFrame(peerId: string, message: Uint8Array, mayHold = true): Promise<void> {
    let frame: ReturnType<typeof decodeFrame>;
    try {
      frame = decodeFrame(message);
    } catch {
      this.stats.refused++;
      return;
    }
    const shortId = toHex(frame.shortSessionId);
    const s = this.byPeer.get(peerId)?.find((x) => x.shortId === shortId);
    if (!s) {
      const held = this.held.get(peerId) ?? [];
      if (mayHold && this.opening.has(peerId) && held.length < MAX_HELD_FRAMES_PER_PEER) {
        held.push(message);
        this.held.set(peerId, held);
      } else this.stats.refused++;
      return;
    }
    if (frame.seq <= s.restartFloor) {
      // Accepted before (possibly before a restart): a QoS 1 redelivery or a replay.
      this.stats.replayed++;
      return;
    }
    let opened: { seq: bigint; plaintext: Uint8Array };
    try {
      opened = s.receiver.open(message, this.d.now());
    } catch (error) {
      if (isProtocolError(error, "E_REPLAY")) this.stats.replayed++;
      else if (isProtocolError(error)) this.stats.refused++;
      else throw error;
      return;
    }
    // Persisted before the application sees it, so a restart never delivers it twice. The write is
    // not awaited here: the floors asked for while the level write before them is on its way share
    // the next fsynced write (group commit, platform/level-database.ts), and the sender's queue
    // moves on meanwhile; the frame is delivered after it (see deliverAfter).
    if (opened.seq > s.highest) {
      s.highest = opened.seq;
      s.floorWrite = this.d.sessions.setReceiveFloor(s.sessionId, opened.seq);
      s.floorWrite.catch(() => undefined);
    }
    // The peer sends on the session we send on: the older ones only drain what is in flight.
    const list = this.byPeer.get(peerId) ?? [];
    if (list[0] === s) for (const old of list.slice(1)) this.drainAndRetire(old);
    this.deliverAfter(peerId, s.floorWrite, {
      from: peerId,
      // A copy: the native backend cuts plaintexts from slabs shared with other messages and
      // peers, which `data.buffer` would show (and a transfer of it would detach).
      data: opened.plaintext.slice(),
      seq: opened.seq,
      sessionId: s.sessionId,
    });
  }

  /**
   * Emits `message` once `written` (the newest floor write of the frame's session, which covers
   * it) is on disk, and after every frame accepted before it: in the order frames were accepted.
   * When that write failed, the frame is not delivered and the failure is told as `error` (the
   * replay window holds the frame, so a redelivery is refused until a restart). A listener that
   * throws is told as `error` too; the chain never rejects.
   */
  private deliverAfter(from: string, written: Promise<void>, event: MessageEvent): void {
    this.undelivered.set(from, (this.undelivered.get(from) ?? 0) + 1);
    this.undeliveredTotal++;
    this.deliveries = this.deliveries.then(async () => {
      try {
        await written;
        this.stats.received++;
        this.d.emit("message", event);
      } catch (error) {
        this.report(error);
      } finally {
        const left = (this.undelivered.get(from) ?? 1) - 1;
        if (left > 0) this.undelivered.set(from, left);
        else this.undelivered.delete(from);
        if (--this.undeliveredTotal <= INBOUND_BACKLOG.resume && this.backlogDrained) {
          this.backlogDrained.resolve();
          this.backlogDrained = undefined;
        }
      }
    });
  }

  /** Tells a background failure as `error` (not after close; a throwing `error` listener is ignored). */
  private report(error: unknown): void {
    if (this.closed) return;
    try {
      this.d.emit("error", error as Error);
    } catch {
      // Nothing is left to tell it to; the delivery chain must go on.
    }
  }

  private async onNotice(message: Uint8Array): Promise<void> {
    let notice: ReturnType<typeof openHeadNotice>;
    try {
      notice = openHeadNotice(this.d.clusterId, this.d.membership, message);
    } catch (error) {
      if (!isProtocolError(error)) throw error;
      this.stats.refused++;
      return;
    }
    if (notice.kind === NoticeKind.MEMBERSHIP_ENDED) {
      this.d.emit("membership-ended", { reason: "the head ended our membership: join again" });
      return;
    }
    const peerId = toHex(notice.subject);
    // Only sessions granted before the notice end: a replayed old notice cannot end a newer session.
    const ended = (this.byPeer.get(peerId) ?? []).filter((s) => s.issuedAt <= notice.issuedAt);
    for (const s of ended) await this.retire(s, "revoked");
    if (ended.length > 0) this.d.emit("peer-ended", { peerId, reason: "revoked" });
  }

  // ----- bookkeeping ---------------------------------------------------------------------------

  private async dropPending(p: PendingGrant): Promise<void> {
    this.pendingGrants = this.pendingGrants.filter((x) => x !== p);
    await this.d.pending.remove(p.nonce);
  }

  /** Persists (when new) and opens a channel for a granted session. Wipes `granted.sessionKey`. */
  private async install(granted: GrantedSession, isNew: boolean): Promise<LiveSession> {
    const sessionId = toHex(granted.sessionId);
    if (isNew) await this.d.sessions.put(granted);
    const reservation = await SequenceReservation.open(
      this.d.sequences,
      sequenceKey(sessionId, granted.role),
      this.d.sequenceBlock,
    );
    const channel = createChannel(granted, { startSeq: reservation.peek });
    const live: LiveSession = {
      sessionId,
      shortId: sessionId.slice(0, 8),
      peerId: toHex(granted.peerId),
      role: granted.role,
      expiresAt: granted.expiresAt,
      issuedAt: granted.issuedAt,
      sender: channel.sender,
      receiver: channel.receiver,
      reservation,
      restartFloor: -1n,
      highest: -1n,
      floorWrite: Promise.resolve(),
      ...this.rotationPoint(granted),
      retired: false,
      draining: false,
    };
    live.restartFloor = live.highest = await this.d.sessions.receiveFloor(sessionId);
    const list = [live, ...(this.byPeer.get(live.peerId) ?? [])];
    this.byPeer.set(live.peerId, list.slice(0, SESSIONS_PER_PEER));
    for (const old of list.slice(SESSIONS_PER_PEER)) await this.retire(old, "superseded");
    return live;
  }

  /**
   * Where a session is rotated. The initiator goes first on age; the responder waits twice as long
   * (or until just before expiry), so two members rarely start a rotation at once — which would
   * leave both sessions alive until the next rotation, not lose frames.
   */
  private rotationPoint(g: GrantedSession): { rotateAtSeq: bigint; rotateAtMs: number } {
    const lifetime = g.expiresAt - g.issuedAt;
    const hardMs = g.expiresAt - Math.min(REGRANT_MARGIN_MS, lifetime / 20);
    const byAge = this.rotation.maxAgeMs;
    const rotateAtMs =
      g.role === Role.INITIATOR
        ? Math.min(
            g.expiresAt - Math.min(ROTATE_BEFORE_EXPIRY_MS, lifetime / 10),
            g.issuedAt + (byAge ?? Infinity),
          )
        : Math.min(hardMs, g.issuedAt + 2 * (byAge ?? Infinity));
    const limit = this.rotation.maxMessages ?? AEAD_FRAME_LIMITS[g.suite];
    return {
      rotateAtSeq:
        limit < MAX_MESSAGES_PER_KEY - REGRANT_MARGIN_SEQ ? limit : MAX_MESSAGES_PER_KEY - REGRANT_MARGIN_SEQ,
      rotateAtMs,
    };
  }

  /** Retires `s` once the drain is over (frames already in flight under it still open meanwhile). */
  private drainAndRetire(s: LiveSession): void {
    if (s.draining || s.retired) return;
    s.draining = true;
    const timer = setTimeout(() => {
      this.drains.delete(s);
      // Behind the peer's queued frames, so none is half-opened when the keys go.
      if (!this.inbound.push(s.peerId, () => this.retire(s, "rotated")))
        void this.retire(s, "rotated").catch((e: unknown) => this.report(e));
    }, this.rotation.drainMs);
    this.drains.set(s, timer);
  }

  /** Closes a session's channel and deletes its keys and counters. */
  private async retire(s: LiveSession, reason: SessionRetiredEvent["reason"] = "ended"): Promise<void> {
    if (s.retired) return;
    s.retired = true;
    const timer = this.drains.get(s);
    if (timer) clearTimeout(timer);
    this.drains.delete(s);
    s.sender.close();
    s.receiver.close();
    const rest = (this.byPeer.get(s.peerId) ?? []).filter((x) => x !== s);
    if (rest.length > 0) this.byPeer.set(s.peerId, rest);
    else this.byPeer.delete(s.peerId);
    await this.forget(s.sessionId, s.role);
    if (!this.closed) this.d.emit("session-retired", { peerId: s.peerId, sessionId: s.sessionId, reason });
  }

  private async forget(sessionId: string, role: Role): Promise<void> {
    await this.d.sessions.remove(sessionId);
    await this.d.sequences.remove(sequenceKey(sessionId, role));
  }

  private assertOpen(): void {
    if (this.closed) throw new DeviceError("E_CLOSED", "the device was closed");
  }

  /** Stops handling traffic, wipes channel keys and fails waiting openSession calls. */
  async close(): Promise<void> {
    this.closed = true;
    // The message held now is not taken in either: unacknowledged, the broker keeps it.
    this.backlogDrained?.reject(new DeviceError("E_CLOSED", "the device is closing"));
    this.backlogDrained = undefined;
    for (const list of this.waiters.values())
      for (const w of list) w.reject(new DeviceError("E_CLOSED", "the device was closed"));
    this.waiters.clear();
    await this.inbound.idle();
    await this.deliveries;
    await this.outbound.catch(() => undefined);
    // As before sends were pipelined: close waits for the PUBACKs of what was handed to MQTT
    // (MQTT.js, still reconnecting, delivers them once the broker is back).
    await Promise.allSettled([...this.unacked]);
    // A rotated-away session is not needed after we stop: delete its keys now, not at the next start.
    for (const s of [...this.drains.keys()]) await this.retire(s, "rotated");
    for (const s of [...this.byPeer.values()].flat()) {
      s.sender.close();
      s.receiver.close();
    }
    this.byPeer.clear();
  }
}

function sequenceKey(sessionId: string, role: Role): string {
  return `${sessionId}/${role === Role.INITIATOR ? "i2r" : "r2i"}`;
}
