/**
 * Granted sessions (Sk wrapped by the {@link SecretBox}) and the highest sequence number accepted
 * per session, so that after a restart neither side reuses a nonce nor accepts an old frame again.
 *
 * Sk stays here, wrapped, for as long as the session record lives (until the session is retired:
 * revoked, superseded or found expired), because a restarted device rebuilds the channel from it
 * (docs/protocol.md § Restart safety). The channel itself wipes its in-memory copy.
 */
import { type AeadSuite, fromHex, type GrantedSession, type Role, toHex } from "../../../protocol";
import type { DeviceDatabase } from "./database";
import type { SecretBox, WrappedSecret } from "./secret-box";

interface SessionRecord {
  sessionId: string;
  role: Role;
  selfId: string;
  peerId: string;
  clusterId: number;
  suite: AeadSuite;
  issuedAt: number;
  expiresAt: number;
  sessionKey: WrappedSecret;
}

function secretName(sessionIdHex: string): string {
  return `session-key/${sessionIdHex}`;
}

export class SessionStore {
  constructor(
    private readonly db: DeviceDatabase,
    private readonly box: SecretBox,
  ) {}

  /** Stores a granted session; `session.sessionKey` is wrapped, not consumed. */
  put(session: GrantedSession): Promise<void> {
    const id = toHex(session.sessionId);
    const record: SessionRecord = {
      sessionId: id,
      role: session.role,
      selfId: toHex(session.selfId),
      peerId: toHex(session.peerId),
      clusterId: session.clusterId,
      suite: session.suite,
      issuedAt: session.issuedAt,
      expiresAt: session.expiresAt,
      sessionKey: this.box.wrap(secretName(id), session.sessionKey),
    };
    return this.db.put("sessions", id, record);
  }

  /** Every stored session, unwrapped (the caller owns and wipes the keys). */
  async list(): Promise<GrantedSession[]> {
    return (await this.db.entries<SessionRecord>("sessions")).map(([, r]) => ({
      sessionId: fromHex(r.sessionId),
      sessionKey: this.box.unwrap(secretName(r.sessionId), r.sessionKey),
      role: r.role,
      selfId: fromHex(r.selfId),
      peerId: fromHex(r.peerId),
      clusterId: r.clusterId,
      suite: r.suite,
      issuedAt: r.issuedAt,
      expiresAt: r.expiresAt,
    }));
  }

  /** Session summaries without keys (for status output). */
  async summaries(): Promise<Omit<SessionRecord, "sessionKey">[]> {
    return (await this.db.entries<SessionRecord>("sessions")).map(([, { sessionKey: _k, ...rest }]) => rest);
  }

  /** Deletes the session and its replay floor in one atomic batch. */
  async remove(sessionIdHex: string): Promise<void> {
    await this.db.batch([
      { type: "del", sublevel: "sessions", key: sessionIdHex },
      { type: "del", sublevel: "receive", key: sessionIdHex },
    ]);
  }

  /** Highest accepted sequence number of the peer's direction, or -1n. */
  async receiveFloor(sessionIdHex: string): Promise<bigint> {
    const v = await this.db.get<string>("receive", sessionIdHex);
    return v === undefined ? -1n : BigInt(v);
  }

  /**
   * Persists the highest accepted sequence number before the frame is delivered. Written with
   * `durable` (fsync): without it a power cut can lose the write, and a frame the application
   * already saw would be accepted again after the restart (level's default put is only in the OS
   * cache when it resolves).
   */
  async setReceiveFloor(sessionIdHex: string, seq: bigint): Promise<void> {
    await this.db.put("receive", sessionIdHex, seq.toString(), { durable: true });
  }
}
