/**
 * The head's index of the on-chain registry, kept in level and rebuilt from events. Verifying a
 * member reads this index, never the chain.
 */
import type { RegistryEvent } from "../../../chain/registry-events";
import type { BatchOperation, HeadDatabase } from "./database";

export interface DeviceRecord {
  deviceId: string;
  keyAddress: string;
  clusterId: number;
  status: "active" | "revoked";
  enrolledBlock: number;
  keyVersion: number;
  revokedBlock?: number;
}

export interface ClusterRecord {
  clusterId: number;
  head: string;
  latitude: number;
  longitude: number;
  radius: number;
}

/** The last block whose events are in the index, with its hash to recognise a reset chain. */
export interface IndexCursor {
  blockNumber: number;
  blockHash: string;
}

/** Which deployment this index belongs to; an index never mixes two registries. */
export interface IndexIdentity {
  chainId: number;
  address: string;
  deploymentBlockHash: string;
}

/** What changed when a batch of events was applied, for the head to react to (revocations). */
export type IndexChange =
  | { kind: "device-enrolled"; device: DeviceRecord }
  | { kind: "device-revoked"; device: DeviceRecord }
  | { kind: "device-key-rotated"; device: DeviceRecord }
  | { kind: "cluster-changed"; cluster: ClusterRecord };

const CURSOR_KEY = "cursor";
const IDENTITY_KEY = "identity";

export class RegistryIndexStore {
  constructor(private readonly database: HeadDatabase) {}

  getDevice(deviceId: string): Promise<DeviceRecord | undefined> {
    return this.database.get<DeviceRecord>("index-devices", deviceId);
  }

  getCluster(clusterId: number): Promise<ClusterRecord | undefined> {
    return this.database.get<ClusterRecord>("index-clusters", clusterKey(clusterId));
  }

  cursor(): Promise<IndexCursor | undefined> {
    return this.database.get<IndexCursor>("index-meta", CURSOR_KEY);
  }

  identity(): Promise<IndexIdentity | undefined> {
    return this.database.get<IndexIdentity>("index-meta", IDENTITY_KEY);
  }

  async setIdentity(identity: IndexIdentity): Promise<void> {
    await this.database.batch([{ type: "put", sublevel: "index-meta", key: IDENTITY_KEY, value: identity }]);
  }

  /** Every indexed device of `clusterId`. */
  async listDevices(clusterId: number): Promise<DeviceRecord[]> {
    const all = await this.database.values<DeviceRecord>("index-devices", 1_000_000);
    return all.filter((device) => device.clusterId === clusterId);
  }

  /**
   * Applies `events` (in chain order) and moves the cursor to `cursor`, in one atomic batch: after
   * a crash the index is either before or after the whole batch, never in between.
   */
  async apply(events: RegistryEvent[], cursor: IndexCursor): Promise<IndexChange[]> {
    const devices = new Map<string, DeviceRecord | undefined>();
    const clusters = new Map<number, ClusterRecord | undefined>();
    const changes: IndexChange[] = [];
    const device = async (id: string) => {
      if (!devices.has(id)) devices.set(id, await this.getDevice(id));
      return devices.get(id);
    };
    const cluster = async (id: number) => {
      if (!clusters.has(id)) clusters.set(id, await this.getCluster(id));
      return clusters.get(id);
    };

    for (const event of events) {
      switch (event.kind) {
        case "cluster-created": {
          const record: ClusterRecord = {
            clusterId: event.clusterId,
            head: event.head,
            latitude: event.latitude,
            longitude: event.longitude,
            radius: event.radius,
          };
          clusters.set(event.clusterId, record);
          changes.push({ kind: "cluster-changed", cluster: record });
          break;
        }
        case "cluster-head-changed": {
          const current = await cluster(event.clusterId);
          if (!current) break;
          const record = { ...current, head: event.newHead };
          clusters.set(event.clusterId, record);
          changes.push({ kind: "cluster-changed", cluster: record });
          break;
        }
        case "device-enrolled": {
          const record: DeviceRecord = {
            deviceId: event.deviceId,
            keyAddress: event.keyAddress,
            clusterId: event.clusterId,
            status: "active",
            enrolledBlock: event.blockNumber,
            keyVersion: 0,
          };
          devices.set(event.deviceId, record);
          changes.push({ kind: "device-enrolled", device: record });
          break;
        }
        case "device-revoked": {
          const current = await device(event.deviceId);
          if (!current) break;
          const record: DeviceRecord = { ...current, status: "revoked", revokedBlock: event.blockNumber };
          devices.set(event.deviceId, record);
          changes.push({ kind: "device-revoked", device: record });
          break;
        }
        case "device-key-rotated": {
          const current = await device(event.deviceId);
          if (!current) break;
          const record: DeviceRecord = { ...current, keyAddress: event.newKey, keyVersion: event.keyVersion };
          devices.set(event.deviceId, record);
          changes.push({ kind: "device-key-rotated", device: record });
          break;
        }
        // The admin role is not part of the index: only heads and devices are.
        case "admin-transferred":
        case "admin-transfer-started":
        case "admin-transfer-cancelled":
          break;
      }
    }

    const operations: BatchOperation[] = [
      { type: "put", sublevel: "index-meta", key: CURSOR_KEY, value: cursor },
    ];
    for (const [id, record] of devices) {
      if (record) operations.push({ type: "put", sublevel: "index-devices", key: id, value: record });
    }
    for (const [id, record] of clusters) {
      if (record)
        operations.push({ type: "put", sublevel: "index-clusters", key: clusterKey(id), value: record });
    }
    await this.database.batch(operations);
    return changes;
  }
}

/** Fixed-width keys keep clusters in numeric order. */
function clusterKey(clusterId: number): string {
  return clusterId.toString().padStart(10, "0");
}
