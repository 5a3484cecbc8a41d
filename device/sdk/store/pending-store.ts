/**
 * Grant nonces this device sent (as M1 in a SessionRequest or M2 in a GrantRequest) and not yet
 * used. A used nonce is deleted, so a replayed Grant finds nothing (E_UNKNOWN_NONCE).
 */
import { type AeadSuite, fromHex, type PendingGrant, type Role, toHex } from "../../../protocol";
import type { DeviceDatabase } from "./database";

interface PendingRecord {
  role: Role;
  nonce: string;
  clusterId: number;
  selfId: string;
  peerId: string;
  suite: AeadSuite;
  createdAt: number;
}

export class PendingStore {
  constructor(private readonly db: DeviceDatabase) {}

  put(p: PendingGrant): Promise<void> {
    const record: PendingRecord = {
      role: p.role,
      nonce: toHex(p.nonce),
      clusterId: p.clusterId,
      selfId: toHex(p.selfId),
      peerId: toHex(p.peerId),
      suite: p.suite,
      createdAt: p.createdAt,
    };
    return this.db.put("pending", record.nonce, record);
  }

  async list(): Promise<PendingGrant[]> {
    return (await this.db.entries<PendingRecord>("pending")).map(([, r]) => ({
      role: r.role,
      nonce: fromHex(r.nonce),
      clusterId: r.clusterId,
      selfId: fromHex(r.selfId),
      peerId: fromHex(r.peerId),
      suite: r.suite,
      createdAt: r.createdAt,
      used: false,
    }));
  }

  remove(nonce: Uint8Array): Promise<void> {
    return this.db.del("pending", toHex(nonce));
  }

  /** Drops nonces older than `before` (unix ms). */
  async sweep(before: number): Promise<void> {
    for (const [key, r] of await this.db.entries<PendingRecord>("pending"))
      if (r.createdAt < before) await this.db.del("pending", key);
  }
}
