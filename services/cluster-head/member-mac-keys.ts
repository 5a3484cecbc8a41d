/**
 * The grant's MAC keys of each membership, derived once (protocol `memberMacKeys`: one HKDF per
 * purpose from K_m) at the membership's first grant and kept for the next ones, instead of two
 * HKDFs per grant. They are as secret as K_m and live no longer:
 * - a key is handed out only while its membership is the member store's current one for its kid
 *   (a Map look-up per grant), so an ended membership's keys are never used again;
 * - they are wiped (filled with zeros, like K_m) and forgotten when the head learns the membership
 *   ended: the `revoked` event (revocation, re-keying, a move on chain), the housekeeping run that
 *   purges expired memberships ({@link MemberMacKeyCache.sweep}), a re-join of the same device (its
 *   next grant replaces the old keys, and the next sweep catches one that never grants), and
 *   the head's stop ({@link MemberMacKeyCache.clear}).
 * @module
 */
import { type MemberMacKeys, memberMacKeys, wipeMemberMacKeys } from "../../protocol";
import type { Member, MemberStore } from "./stores/member-store";

export class MemberMacKeyCache {
  readonly #keys = new Map<Member, MemberMacKeys>();
  /** deviceId → the member whose keys are kept: a device has one membership at a time. */
  readonly #byDevice = new Map<string, Member>();

  constructor(private readonly members: Pick<MemberStore, "getByKid">) {}

  /**
   * The MAC keys of `member`, derived on first use; undefined when `member` is no longer the
   * store's membership for its kid (ended or replaced), whose keys are then wiped if kept.
   */
  keysOf(member: Member): MemberMacKeys | undefined {
    const kept = this.#keys.get(member);
    if (!this.#isCurrent(member)) {
      if (kept) this.#forget(member, kept);
      return undefined;
    }
    if (kept) return kept;
    const previous = this.#byDevice.get(member.deviceId);
    if (previous) this.#forget(previous, this.#keys.get(previous)!);
    const keys = memberMacKeys(member.membership.memberKey);
    this.#keys.set(member, keys);
    this.#byDevice.set(member.deviceId, member);
    return keys;
  }

  /** Wipes the keys kept for `deviceId` when its membership has ended (O(1); on `revoked`). */
  forgetEnded(deviceId: string): void {
    const member = this.#byDevice.get(deviceId);
    if (member && !this.#isCurrent(member)) this.#forget(member, this.#keys.get(member)!);
  }

  /**
   * Wipes the keys of every membership that has ended (after each housekeeping run).
   * @returns how many memberships' keys were wiped
   */
  sweep(): number {
    let wiped = 0;
    for (const [member, keys] of this.#keys)
      if (!this.#isCurrent(member)) {
        this.#forget(member, keys);
        wiped++;
      }
    return wiped;
  }

  /** Wipes every kept key (the head stops). */
  clear(): void {
    for (const [member, keys] of this.#keys) this.#forget(member, keys);
  }

  /** How many memberships' keys are kept. */
  get size(): number {
    return this.#keys.size;
  }

  #isCurrent(member: Member): boolean {
    return this.members.getByKid(member.kid) === member;
  }

  #forget(member: Member, keys: MemberMacKeys): void {
    wipeMemberMacKeys(keys);
    this.#keys.delete(member);
    if (this.#byDevice.get(member.deviceId) === member) this.#byDevice.delete(member.deviceId);
  }
}
