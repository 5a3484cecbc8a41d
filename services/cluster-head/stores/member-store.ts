/**
 * Members of the cluster (the result of a join): key id, expiry and the device key the join was
 * verified against, kept in level so a restart forgets nobody, and mirrored in memory because the
 * broker asks on every packet. K_m itself is kept apart, in the {@link MemberKeyVault}, so that
 * ending a membership destroys its key.
 * A device has at most one membership: a new join replaces the old one and its key id.
 */
import { fromHex, type Membership, toHex } from "../../../protocol";
import type { BatchOperation, HeadDatabase } from "./database";
import type { MemberKeyVault } from "./member-key-vault";

interface StoredMember {
  deviceId: string;
  kid: string;
  expiresAt: number;
  joinedAt: number;
  /** The device key (address, lower-case hex with 0x) the join was verified against, and its version. */
  keyAddress: string;
  keyVersion: number;
}

/** The registry's view of the device key a membership was granted for. */
export interface MemberKey {
  keyAddress: string;
  keyVersion: number;
}

/** A member as the head's use cases see it. */
export interface Member extends MemberKey {
  deviceId: string;
  kid: string;
  expiresAt: number;
  joinedAt: number;
  membership: Membership;
}

/** The ops that end some memberships, to be written in the caller's batch, then committed. */
export interface MemberRemoval {
  operations: BatchOperation[];
  removed: Member[];
  /** Forgets the removed members in memory and destroys their keys; call after the batch is written. */
  commit(): Promise<void>;
}

/** What {@link MemberStore.open} found that it could not keep. */
export interface MemberStoreOpenReport {
  /** Records of an earlier version (K_m inside level, no device key): dropped; those devices join again. */
  legacyDropped: number;
  /** Records whose K_m is missing from the vault (a crash between the two writes): dropped. */
  keyless: number;
  /** Keys in the vault without a record (a crash between the two writes): destroyed. */
  orphanKeys: number;
}

export class MemberStore {
  private readonly byKid = new Map<string, Member>();
  private readonly byDevice = new Map<string, Member>();

  private constructor(
    private readonly database: HeadDatabase,
    private readonly vault: MemberKeyVault,
  ) {}

  /** Opens the store, loads every membership into memory and repairs what a crash left half-written. */
  static async open(
    database: HeadDatabase,
    vault: MemberKeyVault,
  ): Promise<{ store: MemberStore; report: MemberStoreOpenReport }> {
    const store = new MemberStore(database, vault);
    const report: MemberStoreOpenReport = { legacyDropped: 0, keyless: 0, orphanKeys: 0 };
    const drop: BatchOperation[] = [];
    for (const stored of await database.values<StoredMember & { memberKey?: string }>(
      "members",
      10_000_000,
    )) {
      if (stored.memberKey !== undefined || stored.keyVersion === undefined) {
        report.legacyDropped++;
        drop.push({ type: "del", sublevel: "members", key: stored.kid });
        continue;
      }
      const memberKey = vault.get(stored.kid);
      if (!memberKey) {
        report.keyless++;
        drop.push({ type: "del", sublevel: "members", key: stored.kid });
        continue;
      }
      const member = toMember(stored, memberKey);
      store.byKid.set(member.kid, member);
      store.byDevice.set(member.deviceId, member);
    }
    await database.batch(drop, { durable: true });
    if (report.legacyDropped > 0) await database.compact("members");
    const orphans = vault.kids().filter((kid) => !store.byKid.has(kid));
    report.orphanKeys = orphans.length;
    await vault.delete(orphans);
    return { store, report };
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
   * Records a membership granted for the device key `key`, replacing the device's previous one.
   * The key is in the vault and the record in level (fsynced) before the member is visible; the
   * previous membership's key is destroyed afterwards. A crash in between leaves an orphan key or
   * a keyless record, both repaired by {@link MemberStore.open}.
   * @param alsoWrite - operations of the caller's that must be durable with the membership and
   *   atomically with it (the join's challenge, recorded as consumed): written in its batch
   */
  async put(
    membership: Membership,
    key: MemberKey,
    joinedAt: number,
    alsoWrite: readonly BatchOperation[] = [],
  ): Promise<Member> {
    const stored: StoredMember = {
      deviceId: toHex(membership.deviceId),
      kid: toHex(membership.kid),
      expiresAt: membership.expiresAt,
      joinedAt,
      keyAddress: key.keyAddress.toLowerCase(),
      keyVersion: key.keyVersion,
    };
    await this.vault.put(stored.kid, membership.memberKey);
    const previous = this.byDevice.get(stored.deviceId);
    const operations: BatchOperation[] = [];
    if (previous) operations.push({ type: "del", sublevel: "members", key: previous.kid });
    operations.push({ type: "put", sublevel: "members", key: stored.kid, value: stored }, ...alsoWrite);
    await this.database.batch(operations, { durable: true });
    const member = toMember(stored, membership.memberKey.slice());
    this.byKid.set(member.kid, member);
    this.byDevice.set(member.deviceId, member);
    if (previous && previous.kid !== member.kid) {
      this.byKid.delete(previous.kid);
      previous.membership.memberKey.fill(0);
      await this.vault.delete([previous.kid]);
    }
    return member;
  }

  /** Prepares the end of `deviceId`'s membership (none: an empty removal). */
  prepareRemove(deviceId: string): MemberRemoval {
    const member = this.byDevice.get(deviceId);
    return this.removal(member ? [member] : []);
  }

  /** Prepares the end of every membership that expired at `now`. */
  prepareRemoveExpired(now: number): MemberRemoval {
    return this.removal(this.list().filter((member) => member.expiresAt <= now));
  }

  /** Ends `deviceId`'s membership on its own (a join that lost a race with a key change). */
  async remove(member: Member): Promise<void> {
    const removal = this.removal([member]);
    await this.database.batch(removal.operations, { durable: true });
    await removal.commit();
  }

  private removal(members: Member[]): MemberRemoval {
    return {
      operations: members.map((m) => ({ type: "del", sublevel: "members", key: m.kid })),
      removed: members,
      commit: async () => {
        for (const member of members) {
          // A join may have replaced the membership meanwhile: that one stays.
          if (this.byDevice.get(member.deviceId) === member) this.byDevice.delete(member.deviceId);
          if (this.byKid.get(member.kid) === member) this.byKid.delete(member.kid);
        }
        await this.vault.delete(members.map((m) => m.kid));
        for (const member of members) member.membership.memberKey.fill(0);
      },
    };
  }
}

function toMember(stored: StoredMember, memberKey: Uint8Array): Member {
  return {
    deviceId: stored.deviceId,
    kid: stored.kid,
    expiresAt: stored.expiresAt,
    joinedAt: stored.joinedAt,
    keyAddress: stored.keyAddress,
    keyVersion: stored.keyVersion,
    membership: {
      deviceId: fromHex(stored.deviceId),
      kid: fromHex(stored.kid),
      memberKey,
      expiresAt: stored.expiresAt,
    },
  };
}
