/**
 * The operator's device listing: this cluster's indexed devices with their membership, searched
 * and paged in the index's key order (device ID), so a page costs the same with 10 or 10,000
 * devices. A search reads at most {@link SCAN_BUDGET} records per call and hands back a cursor
 * to go on from, so no single request scans an unbounded index.
 */
import type { HeadContext } from "../context";
import type { DeviceRecord } from "../stores/registry-index-store";
import { requireServingIndex } from "./require-serving-index";

/** Index records read at most per call; past it the answer carries a cursor and `partial`. */
export const SCAN_BUDGET = 50_000;

export interface DeviceListQuery {
  /** Lowercase hex (no 0x) that the device ID or key address must contain; empty: every device. */
  query: string;
  /** Go on after this device ID (the previous page's `nextCursor`). */
  cursor?: string | undefined;
  /** Devices per page. */
  limit: number;
  status?: DeviceRecord["status"] | undefined;
}

/** One row of the listing: the registry record and the device's current membership, if any. */
export interface DeviceRow extends DeviceRecord {
  /** When its current membership began (its last join), or null without one. */
  joinedAt: number | null;
  /** Until when it is a member, or null without a membership. */
  memberUntil: number | null;
}

export interface DevicePage {
  devices: DeviceRow[];
  /** Pass as `cursor` for the next page; absent on the last page. */
  nextCursor?: string;
  /** The scan budget ran out before the page was full: more may match after `nextCursor`. */
  partial: boolean;
}

/** Counts of this cluster's devices by status. */
export interface DeviceCounts {
  enrolled: number;
  active: number;
  revoked: number;
}

/** Records read from level per call of its iterator (one native call per batch, not per record). */
const READ_BATCH = 1000;

export async function listClusterDevices(ctx: HeadContext, q: DeviceListQuery): Promise<DevicePage> {
  requireServingIndex(ctx);
  const devices: DeviceRow[] = [];
  const iterator = ctx.database.sub["index-devices"].iterator(q.cursor ? { gt: q.cursor } : {});
  let scanned = 0;
  try {
    for (;;) {
      const batch = await iterator.nextv(READ_BATCH);
      if (batch.length === 0) return { devices, partial: false };
      for (const [key, value] of batch) {
        const device = value as DeviceRecord;
        if (matches(ctx, device, q)) {
          // One match past the page: there is a next page, and it starts after the last row shown.
          if (devices.length === q.limit)
            return { devices, nextCursor: devices.at(-1)!.deviceId, partial: false };
          devices.push(row(ctx, device));
        }
        if (++scanned >= SCAN_BUDGET) return { devices, nextCursor: String(key), partial: true };
      }
    }
  } finally {
    await iterator.close();
  }
}

/** Counts this cluster's devices (one pass over the index). */
export async function countClusterDevices(ctx: HeadContext): Promise<DeviceCounts> {
  const counts: DeviceCounts = { enrolled: 0, active: 0, revoked: 0 };
  const iterator = ctx.database.sub["index-devices"].values();
  try {
    for (
      let batch = await iterator.nextv(READ_BATCH);
      batch.length > 0;
      batch = await iterator.nextv(READ_BATCH)
    ) {
      for (const value of batch) {
        const device = value as DeviceRecord;
        if (device.clusterId !== ctx.config.clusterId) continue;
        counts.enrolled++;
        counts[device.status]++;
      }
    }
  } finally {
    await iterator.close();
  }
  return counts;
}

function matches(ctx: HeadContext, device: DeviceRecord, q: DeviceListQuery): boolean {
  if (device.clusterId !== ctx.config.clusterId) return false;
  if (q.status && device.status !== q.status) return false;
  return (
    q.query === "" || device.deviceId.includes(q.query) || device.keyAddress.toLowerCase().includes(q.query)
  );
}

function row(ctx: HeadContext, device: DeviceRecord): DeviceRow {
  const member = ctx.members.getByDevice(device.deviceId);
  return { ...device, joinedAt: member?.joinedAt ?? null, memberUntil: member?.expiresAt ?? null };
}
