/**
 * The dashboard's live feed: what changed in the cluster, as small JSON events with IDs, times and
 * reasons only (never keys, tokens, MACs or the warning's sealed bytes). Sources: the index
 * follower (enrollments, revocations and key rotations seen on chain, whoever sent them), the
 * head's events (memberships ended, sessions granted, grant warnings) and the member store
 * (joins). Listeners are attached while at least one subscriber is there, so a head without a
 * dashboard open pays nothing.
 */
import type { HeadContext } from "../context";
import type { IndexChange } from "../stores/registry-index-store";

/** How often the member store is compared for new joins while someone listens. */
export const JOIN_POLL_MS = 200;

export type FeedEvent =
  | { type: "device-enrolled"; deviceId: string; keyAddress: string; block: number }
  | { type: "device-revoked"; deviceId: string; block: number | null }
  | { type: "device-key-rotated"; deviceId: string; keyVersion: number }
  | { type: "member-joined"; deviceId: string; joinedAt: number; expiresAt: number }
  | { type: "membership-ended"; deviceId: string; reason: string; peers: string[] }
  | { type: "session-granted"; sessionId: string; initiator: string; responder: string }
  | { type: "grant-warning"; toDeviceId: string; reason: string };

export type FeedListener = (event: FeedEvent & { at: number }) => void;

export class EventFeed {
  private readonly listeners = new Set<FeedListener>();
  private detach: (() => void) | undefined;

  constructor(private readonly ctx: HeadContext) {}

  get size(): number {
    return this.listeners.size;
  }

  /** Adds a listener; returns its removal. */
  subscribe(listener: FeedListener): () => void {
    this.listeners.add(listener);
    if (!this.detach) this.detach = this.attach();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.detach) {
        this.detach();
        this.detach = undefined;
      }
    };
  }

  private publish(event: FeedEvent): void {
    const stamped = { ...event, at: this.ctx.now() };
    for (const listener of this.listeners) listener(stamped);
  }

  private attach(): () => void {
    const { ctx } = this;
    const onChanges = (changes: IndexChange[]) => {
      for (const change of changes) {
        // A rewind after a reorganisation (device-rewound) is followed by the replayed changes themselves.
        if (change.kind === "cluster-changed" || change.kind === "device-rewound") continue;
        const { device } = change;
        if (device.clusterId !== ctx.config.clusterId) continue;
        if (change.kind === "device-enrolled")
          this.publish({
            type: "device-enrolled",
            deviceId: device.deviceId,
            keyAddress: device.keyAddress,
            block: device.enrolledBlock,
          });
        else if (change.kind === "device-revoked")
          this.publish({
            type: "device-revoked",
            deviceId: device.deviceId,
            block: device.revokedBlock ?? null,
          });
        else
          this.publish({
            type: "device-key-rotated",
            deviceId: device.deviceId,
            keyVersion: device.keyVersion,
          });
      }
    };
    const onEnded = ({ deviceId, peers, reason }: { deviceId: string; peers: string[]; reason: string }) =>
      this.publish({ type: "membership-ended", deviceId, reason, peers });
    const onGranted = ({
      sessionId,
      initiator,
      responder,
    }: {
      sessionId: string;
      initiator: string;
      responder: string;
    }) => this.publish({ type: "session-granted", sessionId, initiator, responder });
    // The warning's bytes are the sealed message for M2: only who and why go out.
    const onWarning = ({ toDeviceId, reason }: { toDeviceId: string; reason: string }) =>
      this.publish({ type: "grant-warning", toDeviceId, reason });
    ctx.follower.on("changes", onChanges);
    ctx.events.on("revoked", onEnded);
    ctx.events.on("granted", onGranted);
    ctx.events.on("warning", onWarning);

    // Joins raise no head event: a membership with a key ID not seen before is a join.
    let known = new Map(ctx.members.list().map((m) => [m.deviceId, m.kid]));
    const poll = setInterval(() => {
      const now = new Map<string, string>();
      for (const member of ctx.members.list()) {
        now.set(member.deviceId, member.kid);
        if (known.get(member.deviceId) !== member.kid)
          this.publish({
            type: "member-joined",
            deviceId: member.deviceId,
            joinedAt: member.joinedAt,
            expiresAt: member.expiresAt,
          });
      }
      known = now;
    }, JOIN_POLL_MS);
    poll.unref();

    return () => {
      clearInterval(poll);
      ctx.follower.off("changes", onChanges);
      ctx.events.off("revoked", onEnded);
      ctx.events.off("granted", onGranted);
      ctx.events.off("warning", onWarning);
    };
  }
}
