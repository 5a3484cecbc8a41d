/**
 * Issued grants. The replay key of the request and the session record are written in one fsynced
 * batch before the grant leaves the head, so after a crash or a power cut the same request can
 * never be granted again; while a request is being decided its replay key is claimed in memory, so
 * concurrent copies of it cannot both get past the check (docs/protocol.md § Grant, replay).
 * Session keys are not stored: only who shares a session, under which device keys, and until when.
 * Ended and expired sessions and stale replay keys are pruned, so neither memory nor disk grows
 * with the number of grants ever issued.
 */
import type { BatchOperation, HeadDatabase } from "./database";

export interface SessionRecord {
  sessionId: string;
  initiator: string;
  responder: string;
  suite: number;
  issuedAt: number;
  expiresAt: number;
  /** Registry key versions of both members when the session was granted (absent in older records). */
  initiatorKeyVersion?: number;
  responderKeyVersion?: number;
  endedAt?: number;
  endReason?: string;
}

interface ReplayRecord {
  expiresAt: number;
}

/** The ops that end some sessions, to be written in the caller's batch, then committed. */
export interface SessionEnding {
  operations: BatchOperation[];
  ended: SessionRecord[];
  commit(): void;
}

export class SessionStore {
  private readonly sessions = new Map<string, SessionRecord>();
  /** IDs of the sessions of each device that have not ended, so checks never scan old sessions. */
  private readonly openByDevice = new Map<string, Set<string>>();
  /** Replay keys of requests being decided now (claimed before the first await). */
  private readonly claimed = new Set<string>();

  private constructor(private readonly database: HeadDatabase) {}

  static async open(database: HeadDatabase): Promise<SessionStore> {
    const store = new SessionStore(database);
    for (const record of await database.values<SessionRecord>("sessions", 10_000_000)) {
      store.remember(record);
    }
    return store;
  }

  /**
   * Claims `replayKey` for one request, synchronously: false when another request holds it now.
   * Release it with {@link release} once the grant is recorded (or refused).
   */
  claim(replayKey: string): boolean {
    if (this.claimed.has(replayKey)) return false;
    this.claimed.add(replayKey);
    return true;
  }

  release(replayKey: string): void {
    this.claimed.delete(replayKey);
  }

  /** Whether a grant was already issued for this request's replay key. */
  async wasGranted(replayKey: string): Promise<boolean> {
    return (await this.database.get<ReplayRecord>("grant-requests", replayKey)) !== undefined;
  }

  /** Durably records a grant (replay key and session) before it is sent. */
  async recordGrant(replayKey: string, replayKeyExpiresAt: number, session: SessionRecord): Promise<void> {
    await this.database.batch(
      [
        { type: "put", sublevel: "grant-requests", key: replayKey, value: { expiresAt: replayKeyExpiresAt } },
        { type: "put", sublevel: "sessions", key: session.sessionId, value: session },
      ],
      { durable: true },
    );
    this.remember(session);
  }

  private remember(session: SessionRecord): void {
    this.sessions.set(session.sessionId, session);
    if (session.endedAt !== undefined) return;
    for (const deviceId of [session.initiator, session.responder]) {
      const ids = this.openByDevice.get(deviceId) ?? new Set<string>();
      ids.add(session.sessionId);
      this.openByDevice.set(deviceId, ids);
    }
  }

  private forgetOpen(session: SessionRecord): void {
    for (const deviceId of [session.initiator, session.responder]) {
      const ids = this.openByDevice.get(deviceId);
      ids?.delete(session.sessionId);
      if (ids?.size === 0) this.openByDevice.delete(deviceId);
    }
  }

  /** Whether `a` and `b` share a live session (either direction). */
  haveSession(a: string, b: string, now: number): boolean {
    return this.liveSessionsOf(a, now).some((s) => s.initiator === b || s.responder === b);
  }

  /** Live sessions of `deviceId`. */
  liveSessionsOf(deviceId: string, now: number): SessionRecord[] {
    const live: SessionRecord[] = [];
    for (const id of this.openByDevice.get(deviceId) ?? []) {
      const s = this.sessions.get(id);
      if (s && s.endedAt === undefined && s.expiresAt > now) live.push(s);
    }
    return live;
  }

  /** Every live session. */
  live(now: number): SessionRecord[] {
    return this.list().filter((s) => s.endedAt === undefined && s.expiresAt > now);
  }

  /** Prepares the end of every live session of `deviceId` (their peers are to be told). */
  prepareEndSessionsOf(deviceId: string, now: number, reason: string): SessionEnding {
    const ended = this.liveSessionsOf(deviceId, now).map((s) => ({ ...s, endedAt: now, endReason: reason }));
    return {
      operations: ended.map((s) => ({ type: "put", sublevel: "sessions", key: s.sessionId, value: s })),
      ended,
      commit: () => {
        for (const s of ended) {
          this.sessions.set(s.sessionId, s);
          this.forgetOpen(s);
        }
      },
    };
  }

  /**
   * Deletes sessions that ended or expired before `before`, and replay keys that expired before
   * `now` (a request older than that fails the freshness check anyway). Returns how many of each.
   */
  async prune(now: number, before: number): Promise<{ sessions: number; replayKeys: number }> {
    const gone = this.list().filter((s) => (s.endedAt ?? s.expiresAt) <= before);
    const staleKeys: string[] = [];
    for await (const [key, value] of this.database.sub["grant-requests"].iterator()) {
      if ((value as ReplayRecord).expiresAt <= now) staleKeys.push(String(key));
    }
    await this.database.batch([
      ...gone.map((s) => ({ type: "del" as const, sublevel: "sessions" as const, key: s.sessionId })),
      ...staleKeys.map((key) => ({ type: "del" as const, sublevel: "grant-requests" as const, key })),
    ]);
    for (const s of gone) {
      this.sessions.delete(s.sessionId);
      this.forgetOpen(s);
    }
    return { sessions: gone.length, replayKeys: staleKeys.length };
  }

  list(): SessionRecord[] {
    return [...this.sessions.values()];
  }
}
