/**
 * The registry index store on a real level database: devices and clusters answered from memory,
 * the memory following `apply` and `rewind` only once level holds the change, and the device-tag
 * index kept right through both.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { RegistryEvent } from "../../../../chain/registry-events";
import { deviceTag, fromHex, toHex } from "../../../../protocol";
import { HeadDatabase } from "../../../../services/cluster-head/stores/database";
import { RegistryIndexStore } from "../../../../services/cluster-head/stores/registry-index-store";

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function openStore(dir?: string) {
  const location = dir ?? mkdtempSync(join(tmpdir(), "iotguard-index-store-"));
  if (!dir) cleanup.push(() => rmSync(location, { recursive: true, force: true }));
  const database = await HeadDatabase.open(location);
  const store = await RegistryIndexStore.open(database);
  return { location, database, store };
}

const id = (n: number) => n.toString(16).padStart(64, "0");
const tagOf = (deviceId: string) => toHex(deviceTag(fromHex(deviceId)));
const KEY = `0x${"ab".repeat(20)}`;
const at = (blockNumber: number) => ({
  blockNumber,
  blockHash: `0x${blockNumber.toString(16).padStart(64, "0")}`,
});

function enrolled(deviceId: string, blockNumber: number, clusterId = 1): RegistryEvent {
  return { kind: "device-enrolled", deviceId, clusterId, keyAddress: KEY, blockNumber, logIndex: 0 };
}

describe("RegistryIndexStore", () => {
  it("answers devices and clusters from memory, without reading level", async () => {
    const { database, store } = await openStore();
    await store.apply(
      [
        {
          kind: "cluster-created",
          clusterId: 1,
          head: KEY,
          latitude: 1,
          longitude: 2,
          radius: 3,
          blockNumber: 5,
          logIndex: 0,
        },
        enrolled(id(1), 5),
      ],
      at(5),
    );
    const get = vi.spyOn(database, "get");
    const sublevelGet = vi.spyOn(database.sub["index-devices"], "get");
    expect(store.device(id(1))).toMatchObject({ deviceId: id(1), status: "active", keyVersion: 0 });
    expect(await store.getDevice(id(1))).toBe(store.device(id(1)));
    expect(store.cluster(1)).toMatchObject({ head: KEY, radius: 3 });
    expect(await store.getCluster(1)).toBe(store.cluster(1));
    expect(store.device(id(2))).toBeUndefined();
    expect(get).not.toHaveBeenCalled();
    expect(sublevelGet).not.toHaveBeenCalled();
    await database.close();
  });

  it("loads what level holds at open", async () => {
    const first = await openStore();
    await first.store.apply(
      [
        enrolled(id(1), 5),
        { kind: "device-revoked", deviceId: id(1), clusterId: 1, blockNumber: 6, logIndex: 0 },
      ],
      at(6),
    );
    await first.database.close();
    const again = await openStore(first.location);
    expect(again.store.device(id(1))).toMatchObject({ status: "revoked", revokedBlock: 6 });
    expect(again.store.devicesWithTag(tagOf(id(1)))).toEqual([again.store.device(id(1))]);
    await again.database.close();
  });

  it("changes nothing in memory when the batch of apply fails", async () => {
    const { database, store } = await openStore();
    await store.apply([enrolled(id(1), 5)], at(5));
    await database.db.close(); // the next write fails
    await expect(
      store.apply(
        [
          enrolled(id(2), 6),
          { kind: "device-revoked", deviceId: id(1), clusterId: 1, blockNumber: 6, logIndex: 1 },
        ],
        at(6),
      ),
    ).rejects.toThrow();
    expect(store.device(id(2))).toBeUndefined();
    expect(store.devicesWithTag(tagOf(id(2)))).toEqual([]);
    expect(store.device(id(1))).toMatchObject({ status: "active" });
  });

  it("finds devices by device tag (lower- or upper-case hex), through enrolment, change and rewind", async () => {
    const { database, store } = await openStore();
    await store.apply([enrolled(id(1), 5)], at(5), { blocks: [at(5)], forgetBelow: 0 });
    await store.apply(
      [
        enrolled(id(2), 6),
        {
          kind: "device-key-rotated",
          deviceId: id(1),
          clusterId: 1,
          previousKey: KEY,
          newKey: `0x${"cd".repeat(20)}`,
          keyVersion: 1,
          blockNumber: 6,
          logIndex: 1,
        },
      ],
      at(6),
      { blocks: [at(6)], forgetBelow: 0 },
    );
    expect(store.devicesWithTag(tagOf(id(1)))).toEqual([
      expect.objectContaining({ deviceId: id(1), keyVersion: 1 }),
    ]);
    expect(store.devicesWithTag(tagOf(id(2)).toUpperCase())).toEqual([
      expect.objectContaining({ deviceId: id(2) }),
    ]);
    expect(store.devicesWithTag("00".repeat(16))).toEqual([]);

    // Block 6 is undone: device 2 leaves the index and its tag with it; device 1 gets its old key back.
    await store.rewind(at(5));
    expect(store.device(id(2))).toBeUndefined();
    expect(store.devicesWithTag(tagOf(id(2)))).toEqual([]);
    expect(store.devicesWithTag(tagOf(id(1)))).toEqual([
      expect.objectContaining({ keyVersion: 0, keyAddress: KEY }),
    ]);
    expect(await database.get("index-devices", id(2))).toBeUndefined();

    // And block 5 too: the index is empty again, in memory as on disk.
    await store.rewind(at(4));
    expect(store.device(id(1))).toBeUndefined();
    expect(store.devicesWithTag(tagOf(id(1)))).toEqual([]);
    expect(await database.values("index-devices")).toEqual([]);
    await database.close();
  });

  it("lists the devices of one cluster in device ID order", async () => {
    const { database, store } = await openStore();
    await store.apply([enrolled(id(3), 5), enrolled(id(1), 5), enrolled(id(2), 5, 2)], at(5));
    expect((await store.listDevices(1)).map((d) => d.deviceId)).toEqual([id(1), id(3)]);
    await database.close();
  });
});
