/**
 * Issued grants. The replay key of the request and the session record are written in one batch
 * before the grant leaves the head, so after a crash the same request can never be granted again.
 * Session keys are not stored: only who shares a session, and until when.
 */
import type { HeadDatabase } from "./database";

export interface SessionRecord {
  sessionId: string;
  initiator: string;
  responder: string;
  suite: number;
  issuedAt: number;
  expiresAt: number;
  endedAt?: number;
  endReason?: string;
}

interface ReplayRecord {
  expiresAt: number;
}

export class SessionStore {
  private readonly sessions = new Map<string, SessionRecord>();
  /** Session IDs by device, so broker checks and revocations do not scan every session. */
  private readonly byDevice = new Map<string, Set<string>>();

  private constructor(private readonly database: HeadDatabase) {}

  static async open(database: HeadDatabase): Promise<SessionStore> {
    const store = new SessionStore(database);
    for (const record of await database.values<SessionRecord>("sessions", 10_000_000)) {
      store.index(record);
    }
    return store;
  }

  /** Whether a grant was already issued for this request's replay key. */
  async wasGranted(replayKey: string): Promise<boolean> {
    return (await this.database.get<ReplayRecord>("grant-requests", replayKey)) !== undefined;
  }

  /** Durably records a grant (replay key and session) before it is sent. */
  async recordGrant(replayKey: string, replayKeyExpiresAt: number, session: SessionRecord): Promise<void> {
    await this.database.batch([
      { type: "put", sublevel: "grant-requests", key: replayKey, value: { expiresAt: replayKeyExpiresAt } },
      { type: "put", sublevel: "sessions", key: session.sessionId, value: session },
    ]);
    this.index(session);
  }

  private index(session: SessionRecord): void {
    this.sessions.set(session.sessionId, session);
    for (const deviceId of [session.initiator, session.responder]) {
      const ids = this.byDevice.get(deviceId) ?? new Set<string>();
      ids.add(session.sessionId);
      this.byDevice.set(deviceId, ids);
    }
  }

  /** Whether `a` and `b` share a live session (either direction). */
  haveSession(a: string, b: string, now: number): boolean {
    return this.liveSessionsOf(a, now).some((s) => s.initiator === b || s.responder === b);
  }

  /** Live sessions of `deviceId`. */
  liveSessionsOf(deviceId: string, now: number): SessionRecord[] {
    const live: SessionRecord[] = [];
    for (const id of this.byDevice.get(deviceId) ?? []) {
      const s = this.sessions.get(id);
      if (s && s.endedAt === undefined && s.expiresAt > now) live.push(s);
    }
    return live;
  }

  /** Ends every live session of `deviceId`; returns them (their peers are to be told). */
  async endSessionsOf(deviceId: string, now: number, reason: string): Promise<SessionRecord[]> {
    const ended = this.liveSessionsOf(deviceId, now).map((s) => ({ ...s, endedAt: now, endReason: reason }));
    await this.database.batch(
      ended.map((s) => ({ type: "put" as const, sublevel: "sessions" as const, key: s.sessionId, value: s })),
    );
    for (const s of ended) this.sessions.set(s.sessionId, s);
    return ended;
  }

  list(): SessionRecord[] {
    return [...this.sessions.values()];
  }
}
