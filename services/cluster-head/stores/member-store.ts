/**
 * Members of the cluster (the result of a join): K_m, key id and expiry, kept in level so a
 * restart forgets nobody, and mirrored in memory because the broker asks on every packet.
 * A device has at most one membership: a new join replaces the old one and its key id.
 */
import { fromHex, toHex } from "../../../protocol/bytes";
import type { Membership } from "../../../protocol/join/head";
import type { BatchOperation, HeadDatabase } from "./database";

interface StoredMember {
  deviceId: string;
  kid: string;
  memberKey: string;
  expiresAt: number;
  joinedAt: number;
}

/** A member as the head's use cases see it. */
export interface Member {
  deviceId: string;
  kid: string;
  expiresAt: number;
  joinedAt: number;
  membership: Membership;
}

function toMember(stored: StoredMember): Member {
  return {
    deviceId: stored.deviceId,
    kid: stored.kid,
    expiresAt: stored.expiresAt,
    joinedAt: stored.joinedAt,
    membership: {
      deviceId: fromHex(stored.deviceId),
      kid: fromHex(stored.kid),
      memberKey: fromHex(stored.memberKey),
      expiresAt: stored.expiresAt,
    },
  };
}

export class MemberStore {
  private readonly byKid = new Map<string, Member>();
  private readonly byDevice = new Map<string, Member>();

  private constructor(private readonly database: HeadDatabase) {}

  /** Opens the store and loads every membership into memory. */
  static async open(database: HeadDatabase): Promise<MemberStore> {
    const store = new MemberStore(database);
    for (const stored of await database.values<StoredMember>("members", 10_000_000)) {
      const member = toMember(stored);
      store.byKid.set(member.kid, member);
      store.byDevice.set(member.deviceId, member);
    }
    return store;
  }

  getByKid(kid: string): Member | undefined {
    return this.byKid.get(kid);
  }

  getByDevice(deviceId: string): Member | undefined {
    return this.byDevice.get(deviceId);
  }

  /** Whether `kid` is taken (a new membership must use a fresh one). */
  hasKid(kid: string): boolean {
    return this.byKid.has(kid);
  }

  list(): Member[] {
    return [...this.byDevice.values()];
  }

  get size(): number {
    return this.byDevice.size;
  }

  /**
   * Records a membership, replacing the device's previous one. Persisted before it is visible,
   * and together with `extra` operations (the consumed challenge) in one atomic batch.
   */
  async put(membership: Membership, joinedAt: number, extra: BatchOperation[] = []): Promise<Member> {
    const stored: StoredMember = {
      deviceId: toHex(membership.deviceId),
      kid: toHex(membership.kid),
      memberKey: toHex(membership.memberKey),
      expiresAt: membership.expiresAt,
      joinedAt,
    };
    const previous = this.byDevice.get(stored.deviceId);
    const operations: BatchOperation[] = [...extra];
    if (previous) operations.push({ type: "del", sublevel: "members", key: previous.kid });
    operations.push({ type: "put", sublevel: "members", key: stored.kid, value: stored });
    await this.database.batch(operations);
    if (previous) this.byKid.delete(previous.kid);
    const member = toMember(stored);
    this.byKid.set(member.kid, member);
    this.byDevice.set(member.deviceId, member);
    return member;
  }

  /** Ends a device's membership (revocation). */
  async remove(deviceId: string): Promise<Member | undefined> {
    const member = this.byDevice.get(deviceId);
    if (!member) return undefined;
    await this.database.batch([{ type: "del", sublevel: "members", key: member.kid }]);
    this.byKid.delete(member.kid);
    this.byDevice.delete(deviceId);
    member.membership.memberKey.fill(0);
    return member;
  }
}
