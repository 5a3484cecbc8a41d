/**
 * Session set-up through the head (docs/mqtt.md § Session set-up through the head). A device
 * publishes its SessionRequest, and the Grant it forwards as M2, to its OWN set-up topic as
 * `targetDeviceId || message`; only that device may publish there (the broker's ACL), so the topic
 * names the real sender. The head checks sender, target, message and rate, then publishes the
 * message to the target's inbox in an envelope naming the sender. Devices therefore need no
 * publish right on any inbox but those of their session peers, which a topic-only ACL (Mosquitto's
 * dynamic security) can express.
 *
 * The relay adds no trust: a SessionRequest's MAC is under the initiator's member key and the
 * head verifies it again in the GrantRequest; a Grant's AEAD binds both device IDs. What the relay
 * adds is that a non-member, a revoked member or a flood never reaches another member.
 */
import { decodeGrant, MessageSize, MessageType, Role, toHex } from "../../protocol";
import {
  decodeSetupPayload,
  encodeEnvelope,
  inboxTopic,
  parseTopic,
  type SetupPayload,
  setupTopicFilter,
} from "../../transport/mqtt";
import type { HeadBroker } from "./broker/head-broker";
import type { HeadContext } from "./context";
import { isCurrentMember } from "./use-cases/membership-standing";

/** Per-sender limit on relayed SessionRequests (each costs the target a level write and a head call). */
export interface RelayLimits {
  /** SessionRequests one sender may have relayed back to back. */
  requestBurst: number;
  /** One more is allowed per this many ms, up to {@link RelayLimits.requestBurst}. */
  requestRefillMs: number;
}

/**
 * A member opens one session per peer per session lifetime (1 h by default) plus a retry per grant
 * timeout; 32 at once covers a gateway starting sessions with its peers, and 4 per second after
 * that bounds what one member can make the others do.
 */
export const DEFAULT_RELAY_LIMITS: Readonly<RelayLimits> = Object.freeze({
  requestBurst: 32,
  requestRefillMs: 250,
});

/** Why a set-up message was not relayed (the `reason` label of `iotguard_setup_dropped_total`). */
export type RelayDropReason =
  | "malformed"
  | "bad-type"
  | "bad-size"
  | "self"
  | "sender-not-member"
  | "target-not-member"
  | "rate-limited"
  | "unknown-grant"
  | "publish-failed"
  | "error";

/** Exact size of each message type the relay carries. */
const RELAYED_SIZES: ReadonlyMap<number, number> = new Map([
  [MessageType.SESSION_REQUEST, MessageSize.SESSION_REQUEST],
  [MessageType.GRANT, MessageSize.GRANT],
]);
const TYPE_LABEL: ReadonlyMap<number, string> = new Map([
  [MessageType.SESSION_REQUEST, "session_request"],
  [MessageType.GRANT, "grant"],
]);
/** Full buckets, and relayed Grants of expired sessions, are swept once this many are tracked. */
const SWEEP_ABOVE = 1024;

/** Token buckets per sender: a clock that goes back refills nothing. */
class SenderBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  constructor(private readonly limits: RelayLimits) {}

  take(sender: string, now: number): boolean {
    const tokens = this.level(sender, now);
    if (tokens < 1) return false;
    this.buckets.set(sender, { tokens: tokens - 1, at: now });
    if (this.buckets.size > SWEEP_ABOVE) {
      for (const key of [...this.buckets.keys()])
        if (this.level(key, now) >= this.limits.requestBurst) this.buckets.delete(key);
    }
    return true;
  }

  private level(sender: string, now: number): number {
    const b = this.buckets.get(sender);
    if (!b) return this.limits.requestBurst;
    return Math.min(
      this.limits.requestBurst,
      b.tokens + Math.max(0, now - b.at) / this.limits.requestRefillMs,
    );
  }
}

/** The running relay. */
export interface RequestRelay {
  /** The filter the head's client subscribed to. */
  readonly filter: string;
  readonly limits: Readonly<RelayLimits>;
}

/**
 * Subscribes the head's MQTT client to every set-up topic of its cluster and relays what passes.
 * Resolves once the broker granted the subscription.
 * @throws Error when the limits are not positive integers, or the broker refuses the subscription
 *   (MqttTransportError E_SUBSCRIBE_REFUSED): without the relay no session can start
 */
export async function wireRequestRelay(
  ctx: HeadContext,
  broker: HeadBroker,
  limits: Partial<RelayLimits> = {},
): Promise<RequestRelay> {
  const { topicPrefix, clusterId } = ctx.config;
  const l: RelayLimits = { ...DEFAULT_RELAY_LIMITS, ...limits };
  for (const name of ["requestBurst", "requestRefillMs"] as const)
    if (!Number.isSafeInteger(l[name]) || l[name] < 1)
      throw new Error(`relay limit ${name}: expected a positive integer`);
  const buckets = new SenderBuckets(l);
  /** Sessions whose Grant was relayed already, until they expire: a Grant goes to M1 once. */
  const grantsRelayed = new Map<string, number>();
  let sweepGrantsAbove = SWEEP_ABOVE;

  const drop = (reason: RelayDropReason, sender: string | undefined): void => {
    ctx.metrics.setupDropped.inc({ reason });
    ctx.logger.debug({ reason, sender }, "session set-up message not relayed");
  };

  /** The synchronous checks: shape, type, size, self, rate. Returns the payload or why not. */
  function screen(sender: string, payload: Buffer): SetupPayload | RelayDropReason {
    let setup: SetupPayload;
    try {
      setup = decodeSetupPayload(new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength));
    } catch {
      return "malformed";
    }
    const size = RELAYED_SIZES.get(setup.type);
    if (size === undefined) return "bad-type";
    if (setup.message.length !== size) return "bad-size";
    if (setup.targetId === sender) return "self";
    if (setup.type === MessageType.SESSION_REQUEST && !buckets.take(sender, ctx.now())) return "rate-limited";
    return setup;
  }

  /**
   * A Grant may go only from the responder of a live session this head granted to its initiator,
   * and only the initiator's copy, once: a member cannot use the relay to send anything else.
   */
  function grantIsForwardable(sender: string, setup: SetupPayload, now: number): boolean {
    let grant: ReturnType<typeof decodeGrant>;
    try {
      grant = decodeGrant(setup.message);
    } catch {
      return false;
    }
    if (grant.role !== Role.INITIATOR) return false;
    const sessionId = toHex(grant.sessionId);
    if (grantsRelayed.has(sessionId)) return false;
    const session = ctx.sessions
      .liveSessionsOf(sender, now)
      .find((s) => s.sessionId === sessionId && s.responder === sender && s.initiator === setup.targetId);
    if (!session) return false;
    grantsRelayed.set(sessionId, session.expiresAt);
    if (grantsRelayed.size > sweepGrantsAbove) {
      for (const [id, expiresAt] of grantsRelayed) if (expiresAt <= now) grantsRelayed.delete(id);
      // Entries are live sessions only: sweep again when their number has doubled, not on every Grant.
      sweepGrantsAbove = Math.max(SWEEP_ABOVE, 2 * grantsRelayed.size);
    }
    return true;
  }

  async function relay(sender: string, payload: Buffer): Promise<void> {
    const setup = screen(sender, payload);
    if (typeof setup === "string") return drop(setup, sender);
    // docs/protocol.md § Membership: the one standing rule the broker and the grant also use.
    if (!(await isCurrentMember(ctx, sender))) return drop("sender-not-member", sender);
    if (!(await isCurrentMember(ctx, setup.targetId))) return drop("target-not-member", sender);
    if (setup.type === MessageType.GRANT && !grantIsForwardable(sender, setup, ctx.now()))
      return drop("unknown-grant", sender);
    try {
      await broker.client.publish(
        inboxTopic(topicPrefix, clusterId, setup.targetId),
        encodeEnvelope(Buffer.from(sender, "hex"), setup.message),
      );
    } catch {
      return drop("publish-failed", sender);
    }
    ctx.metrics.setupRelayed.inc({ type: TYPE_LABEL.get(setup.type) as string });
  }

  broker.client.on("message", (topic, payload) => {
    const parsed = parseTopic(topicPrefix, topic);
    // The head's client may carry other subscriptions: only set-up topics of this cluster are ours.
    if (parsed?.kind !== "setup" || parsed.clusterId !== clusterId) return;
    relay(parsed.deviceId, payload).catch((error: Error) => {
      ctx.metrics.setupDropped.inc({ reason: "error" });
      ctx.logger.warn({ err: error.message }, "session set-up relay failed");
    });
  });
  const filter = setupTopicFilter(topicPrefix, clusterId);
  await broker.client.subscribe([filter]);
  return { filter, limits: Object.freeze(l) };
}
