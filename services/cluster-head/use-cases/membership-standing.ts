/**
 * The one rule for "does this membership still count": the device is in the index, active, in this
 * head's cluster, still under the very key (address and version) its join was verified against,
 * and the membership has not expired. Joins, grants and the broker all ask here, so a key rotated
 * or a device revoked on chain stops every use of the old membership at once, even one that a join
 * racing the change managed to store (docs/protocol.md § Membership).
 */
import type { HeadContext } from "../context";
import type { Member } from "../stores/member-store";
import type { DeviceRecord } from "../stores/registry-index-store";

/** `current`, or the protocol error code that says why not. */
export type Standing = "current" | "E_NOT_MEMBER" | "E_REVOKED" | "E_EXPIRED";

/** Why a membership that no longer counts ended, as peers and logs are told. */
export type EndReason = "revoked" | "key-rotated" | "left-cluster";

/** The standing of `member` against the indexed `device` record at `now`. */
export function standingOf(
  member: Member | undefined,
  device: DeviceRecord | undefined,
  clusterId: number,
  now: number,
): Standing {
  if (!member || !device || device.clusterId !== clusterId) return "E_NOT_MEMBER";
  if (device.status !== "active") return "E_REVOKED";
  // Joined under a key the registry has since replaced: the device must join again with its new key.
  if (device.keyVersion !== member.keyVersion || device.keyAddress.toLowerCase() !== member.keyAddress)
    return "E_NOT_MEMBER";
  if (member.expiresAt <= now) return "E_EXPIRED";
  return "current";
}

/** The standing of `member` now, read against the registry index (in memory: no I/O). */
export function standingNow(ctx: HeadContext, member: Member | undefined): Standing {
  if (!member) return "E_NOT_MEMBER";
  return standingOf(member, ctx.index.device(member.deviceId), ctx.config.clusterId, ctx.now());
}

/** {@link standingNow}, for callers that await. */
export function memberStanding(ctx: HeadContext, member: Member | undefined): Promise<Standing> {
  return Promise.resolve(standingNow(ctx, member));
}

/** Whether `deviceId` holds a membership that counts now (no I/O). */
export function isCurrentMemberNow(ctx: HeadContext, deviceId: string): boolean {
  return standingNow(ctx, ctx.members.getByDevice(deviceId)) === "current";
}

/** {@link isCurrentMemberNow}, for callers that await. */
export function isCurrentMember(ctx: HeadContext, deviceId: string): Promise<boolean> {
  return Promise.resolve(isCurrentMemberNow(ctx, deviceId));
}

/**
 * Why a device whose membership or sessions no longer count ended: undefined while it is still
 * enrolled in this cluster under `keyVersion` (the version its membership or session was granted
 * for; undefined accepts any).
 */
export function endReasonOf(
  device: DeviceRecord | undefined,
  clusterId: number,
  keyVersion: number | undefined,
): EndReason | undefined {
  if (!device || device.clusterId !== clusterId) return "left-cluster";
  if (device.status !== "active") return "revoked";
  if (keyVersion !== undefined && device.keyVersion !== keyVersion) return "key-rotated";
  return undefined;
}
