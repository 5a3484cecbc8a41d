/**
 * The head's index of the on-chain registry, kept in level and rebuilt from events. Verifying a
 * member reads this index, never the chain.
 *
 * Devices and clusters are mirrored in memory (loaded at open), so the grant and join paths look
 * them up without touching level; the mirror follows `apply` and `rewind` only once their batch
 * has been written, so it never shows a record the disk does not hold. Devices are also indexed
 * by their device tag (protocol/device-tag.ts) for messages that name a device by tag.
 */
import type { RegistryEvent } from "../../../chain/registry-events";
import { deviceTag, fromHex, toHex } from "../../../protocol";
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

/**
 * A recently indexed block: its hash, to find the common ancestor after a reorganisation, and the
 * records its events replaced, to undo them. Kept for the last `--max-reorg-depth` blocks only.
 */
export interface IndexedBlock {
  blockNumber: number;
  blockHash: string;
  undo: UndoEntry[];
}

/** The value a key of the index held before a block's first event touched it (null: absent). */
type UndoEntry =
  | { sublevel: "index-devices"; key: string; previous: DeviceRecord | null }
  | { sublevel: "index-clusters"; key: string; previous: ClusterRecord | null };

/** Which blocks of a batch to remember for rewinding, and which remembered blocks to forget. */
export interface BlockTracking {
  /** Hashes of the blocks of this batch to keep (the recent ones), in any order. */
  blocks: { blockNumber: number; blockHash: string }[];
  /** Remembered blocks below this number are forgotten: no reorganisation may reach them. */
  forgetBelow: number;
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
  | { kind: "cluster-changed"; cluster: ClusterRecord }
  /** A reorganisation undid this device's record: `device` is what the index holds now (undefined: unknown). */
  | { kind: "device-rewound"; deviceId: string; device: DeviceRecord | undefined };

const CURSOR_KEY = "cursor";
const IDENTITY_KEY = "identity";

export class RegistryIndexStore {
  /** Every indexed device by ID, as level holds it. */
  readonly #devices = new Map<string, DeviceRecord>();
  /** Every indexed cluster by ID, as level holds it. */
  readonly #clusters = new Map<number, ClusterRecord>();
  /**
   * Device IDs by device tag (hex): the record's own ID string (no copy), or a list when two
   * enrolled devices share a tag. Keys are flat strings (protocol `toHex`; as ropes they took
   * 13 MB at 10k devices).
   */
  readonly #byTag = new Map<string, string | string[]>();

  private constructor(private readonly database: HeadDatabase) {}

  /** Opens the index on `database` and loads its devices and clusters into memory. */
  static async open(database: HeadDatabase): Promise<RegistryIndexStore> {
    const store = new RegistryIndexStore(database);
    for (const device of await database.values<DeviceRecord>("index-devices", Number.MAX_SAFE_INTEGER))
      store.#setDevice(device.deviceId, device);
    for (const cluster of await database.values<ClusterRecord>("index-clusters", Number.MAX_SAFE_INTEGER))
      store.#clusters.set(cluster.clusterId, cluster);
    return store;
  }

  /** The indexed record of `deviceId` (64 lower-case hex digits), from memory. */
  device(deviceId: string): DeviceRecord | undefined {
    return this.#devices.get(deviceId);
  }

  /** The indexed record of `clusterId`, from memory. */
  cluster(clusterId: number): ClusterRecord | undefined {
    return this.#clusters.get(clusterId);
  }

  /** {@link device}, for callers that await. */
  getDevice(deviceId: string): Promise<DeviceRecord | undefined> {
    return Promise.resolve(this.#devices.get(deviceId));
  }

  /** {@link cluster}, for callers that await. */
  getCluster(clusterId: number): Promise<ClusterRecord | undefined> {
    return Promise.resolve(this.#clusters.get(clusterId));
  }

  /**
   * Every indexed device whose device tag is `tagHex` (16 bytes as hex), whatever its status or
   * cluster (the caller checks those): usually one, none for an unknown tag, more only when two
   * enrolled IDs share a tag (by chance, 2^-128 per pair, or by an enroller's ~2^64 work).
   */
  devicesWithTag(tagHex: string): DeviceRecord[] {
    const ids = this.#byTag.get(tagHex.toLowerCase());
    if (ids === undefined) return [];
    return typeof ids === "string" ? [this.#devices.get(ids)!] : ids.map((id) => this.#devices.get(id)!);
  }

  /** Sets (or with undefined, removes) the memory copy of one device and its tag entry. */
  #setDevice(deviceId: string, record: DeviceRecord | undefined): void {
    const known = this.#devices.has(deviceId);
    if (record) this.#devices.set(deviceId, record);
    else this.#devices.delete(deviceId);
    if (known === (record !== undefined)) return; // a changed record keeps its ID, hence its tag
    const tag = tagOf(deviceId);
    if (tag === undefined) return;
    const ids = this.#byTag.get(tag);
    const rest = (ids === undefined ? [] : typeof ids === "string" ? [ids] : ids).filter(
      (id) => id !== deviceId,
    );
    if (record) rest.push(record.deviceId);
    if (rest.length > 1) this.#byTag.set(tag, rest);
    else if (rest.length === 1) this.#byTag.set(tag, rest[0]!);
    else this.#byTag.delete(tag);
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

  /** Every indexed device of `clusterId`, in device ID order (as level lists them). */
  listDevices(clusterId: number): Promise<DeviceRecord[]> {
    const devices = [...this.#devices.values()].filter((device) => device.clusterId === clusterId);
    return Promise.resolve(
      devices.sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0)),
    );
  }

  /** The remembered recent blocks, newest first. */
  async recentBlocks(): Promise<IndexedBlock[]> {
    const entries = await this.database.entries<IndexedBlock>("index-blocks");
    return entries.map(([, block]) => block).sort((a, b) => b.blockNumber - a.blockNumber);
  }

  /**
   * Applies `events` (in chain order) and moves the cursor to `cursor`, in one atomic batch: after
   * a crash the index is either before or after the whole batch, never in between. With
   * `tracking`, the listed blocks are remembered (hash and undo records) in the same batch.
   */
  async apply(
    events: RegistryEvent[],
    cursor: IndexCursor,
    tracking?: BlockTracking,
  ): Promise<IndexChange[]> {
    const devices = new Map<string, DeviceRecord | undefined>();
    const clusters = new Map<number, ClusterRecord | undefined>();
    const changes: IndexChange[] = [];
    const device = (id: string) => {
      if (!devices.has(id)) devices.set(id, this.#devices.get(id));
      return devices.get(id);
    };
    const cluster = (id: number) => {
      if (!clusters.has(id)) clusters.set(id, this.#clusters.get(id));
      return clusters.get(id);
    };
    const remembered = new Map<number, IndexedBlock>(
      (tracking?.blocks ?? []).map(({ blockNumber, blockHash }) => [
        blockNumber,
        { blockNumber, blockHash, undo: [] },
      ]),
    );
    // Before an event of a remembered block changes a record, keep the value the block found.
    const keepForUndo = (event: RegistryEvent) => {
      const block = remembered.get(event.blockNumber);
      if (!block) return;
      const touched = (sublevel: string, key: string) =>
        block.undo.some((u) => u.sublevel === sublevel && u.key === key);
      if ("deviceId" in event && !touched("index-devices", event.deviceId)) {
        const previous = device(event.deviceId) ?? null;
        block.undo.push({ sublevel: "index-devices", key: event.deviceId, previous });
      }
      if ("clusterId" in event && event.kind.startsWith("cluster-")) {
        const key = clusterKey(event.clusterId);
        if (!touched("index-clusters", key))
          block.undo.push({
            sublevel: "index-clusters",
            key,
            previous: cluster(event.clusterId) ?? null,
          });
      }
    };

    for (const event of events) {
      keepForUndo(event);
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
          const current = cluster(event.clusterId);
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
          const current = device(event.deviceId);
          if (!current) break;
          const record: DeviceRecord = { ...current, status: "revoked", revokedBlock: event.blockNumber };
          devices.set(event.deviceId, record);
          changes.push({ kind: "device-revoked", device: record });
          break;
        }
        case "device-key-rotated": {
          const current = device(event.deviceId);
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
    for (const block of remembered.values())
      operations.push({
        type: "put",
        sublevel: "index-blocks",
        key: blockKey(block.blockNumber),
        value: block,
      });
    if (tracking) {
      for (const [key, block] of await this.database.entries<IndexedBlock>("index-blocks")) {
        if (block.blockNumber < tracking.forgetBelow)
          operations.push({ type: "del", sublevel: "index-blocks", key });
      }
    }
    await this.database.batch(operations);
    // Only now that level holds them: memory never runs ahead of the disk.
    for (const [id, record] of devices) if (record) this.#setDevice(id, record);
    for (const [id, record] of clusters) if (record) this.#clusters.set(id, record);
    return changes;
  }

  /**
   * Undoes every remembered block above `ancestor` (newest first) and moves the cursor to it, in
   * one atomic batch, so that the blocks of the new branch can be indexed from there.
   * @returns the devices and clusters whose records the undo changed, as they are now
   */
  async rewind(ancestor: IndexCursor): Promise<IndexChange[]> {
    const undone = (await this.recentBlocks()).filter((b) => b.blockNumber > ancestor.blockNumber);
    const restored = new Map<string, UndoEntry>();
    // Newest first: the oldest block's record of a key is the value before the whole rewound span.
    for (const block of undone)
      for (const entry of block.undo) restored.set(`${entry.sublevel}/${entry.key}`, entry);
    const operations: BatchOperation[] = [
      { type: "put", sublevel: "index-meta", key: CURSOR_KEY, value: ancestor },
      ...undone.map((b): BatchOperation => ({
        type: "del",
        sublevel: "index-blocks",
        key: blockKey(b.blockNumber),
      })),
    ];
    const changes: IndexChange[] = [];
    for (const entry of restored.values()) {
      operations.push(
        entry.previous === null
          ? { type: "del", sublevel: entry.sublevel, key: entry.key }
          : { type: "put", sublevel: entry.sublevel, key: entry.key, value: entry.previous },
      );
      if (entry.sublevel === "index-devices")
        changes.push({ kind: "device-rewound", deviceId: entry.key, device: entry.previous ?? undefined });
      else if (entry.previous) changes.push({ kind: "cluster-changed", cluster: entry.previous });
    }
    await this.database.batch(operations, { durable: true });
    for (const entry of restored.values()) {
      if (entry.sublevel === "index-devices") this.#setDevice(entry.key, entry.previous ?? undefined);
      else if (entry.previous) this.#clusters.set(entry.previous.clusterId, entry.previous);
      else this.#clusters.delete(Number(entry.key));
    }
    return changes;
  }
}

/**
 * The device tag of a device ID as the index keeps it (flat hex), or undefined for a malformed ID.
 */
function tagOf(deviceId: string): string | undefined {
  if (!/^[0-9a-f]{64}$/.test(deviceId)) return undefined;
  return toHex(deviceTag(fromHex(deviceId)));
}

/** Fixed-width keys keep blocks in numeric order. */
function blockKey(blockNumber: number): string {
  return blockNumber.toString().padStart(12, "0");
}

/** Fixed-width keys keep clusters in numeric order. */
function clusterKey(clusterId: number): string {
  return clusterId.toString().padStart(10, "0");
}
