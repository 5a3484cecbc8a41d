import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { id, Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ChainIndexFollower,
  ChainMismatchError,
} from "../../../../services/cluster-head/chain/index-follower";
import { connectRegistry } from "../../../../chain/registry-contract";
import { HeadDatabase } from "../../../../services/cluster-head/stores/database";
import type { IndexChange } from "../../../../services/cluster-head/stores/registry-index-store";
import { RegistryIndexStore } from "../../../../services/cluster-head/stores/registry-index-store";
import { adminRegistry, startTestChain, type TestChain } from "../../../../testkit/chain";

const hex = (bytes32: string) => bytes32.slice(2).toLowerCase();

describe("ChainIndexFollower against a real hardhat node", () => {
  let chain: TestChain;
  let dir: string;
  const head = Wallet.createRandom();

  beforeAll(async () => {
    chain = await startTestChain();
    dir = mkdtempSync(join(tmpdir(), "iotguard-index-"));
    await (await adminRegistry(chain).createCluster(1, head.address, 1_000_000, 2_000_000, 500_000)).wait();
    await chain.fund(head.address);
  }, 60_000);
  afterAll(async () => {
    await chain?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function openFollower() {
    const database = await HeadDatabase.open(join(dir, "db"));
    const store = await RegistryIndexStore.open(database);
    const follower = new ChainIndexFollower({
      provider: chain.provider,
      deployment: chain.deployment,
      store,
      confirmations: 0,
      pollIntervalMs: 50,
    });
    return { database, store, follower };
  }

  it("rebuilds from events, follows revocations live, and resumes after a restart", async () => {
    const asHead = connectRegistry(chain.deployment, head.connect(chain.provider));
    const keyA = Wallet.createRandom().address;
    await (await asHead.enrollBatch(1, [id("a"), id("b")], [keyA, keyA])).wait();

    let { database, store, follower } = await openFollower();
    await follower.start();
    expect(await store.getCluster(1)).toEqual({
      clusterId: 1,
      head: head.address.toLowerCase(),
      latitude: 1_000_000,
      longitude: 2_000_000,
      radius: 500_000,
    });
    expect(await store.getDevice(hex(id("a")))).toMatchObject({
      keyAddress: keyA.toLowerCase(),
      status: "active",
      clusterId: 1,
    });

    const seen = new Promise<IndexChange[]>((resolve) => follower.on("changes", resolve));
    await (await asHead.revoke(id("a"))).wait();
    const changes = await seen;
    expect(changes).toEqual([
      expect.objectContaining({
        kind: "device-revoked",
        device: expect.objectContaining({ deviceId: hex(id("a")) }),
      }),
    ]);
    expect((await store.getDevice(hex(id("a"))))?.status).toBe("revoked");
    expect(follower.status()).toMatchObject({ state: "live", lagBlocks: 0 });
    await follower.stop();
    await database.close();

    // While the head is down: a rotation and an enrollment. The restarted follower picks them up.
    const keyB = Wallet.createRandom().address;
    await (await asHead.rotateKey(id("b"), keyB)).wait();
    await (await asHead.enroll(1, id("c"), keyB)).wait();
    ({ database, store, follower } = await openFollower());
    await follower.start();
    expect(await store.getDevice(hex(id("b")))).toMatchObject({
      keyAddress: keyB.toLowerCase(),
      keyVersion: 1,
    });
    expect(await store.getDevice(hex(id("c")))).toMatchObject({ status: "active" });
    expect((await store.getDevice(hex(id("a"))))?.status).toBe("revoked");
    await follower.stop();
    await database.close();
  }, 60_000);

  it("refuses a chain that was reset, and an index of another deployment", async () => {
    const oldDeployment = chain.deployment;
    // Same port, new empty chain that gets a registry at the same address but in another block.
    const port = chain.node.port;
    await chain.stop();
    chain = await startTestChain({ port });
    const database = await HeadDatabase.open(join(dir, "db"));
    const follower = new ChainIndexFollower({
      provider: chain.provider,
      deployment: oldDeployment,
      store: await RegistryIndexStore.open(database),
      confirmations: 0,
      pollIntervalMs: 50,
    });
    await expect(follower.start()).rejects.toBeInstanceOf(ChainMismatchError);
    await expect(follower.start()).rejects.toThrow(/was the chain reset/);
    const otherDeployment = chain.deployment;
    await database.close();

    // The new chain has a registry at the same address, but this data dir indexed the old one.
    const database2 = await HeadDatabase.open(join(dir, "db"));
    const follower2 = new ChainIndexFollower({
      provider: chain.provider,
      deployment: otherDeployment,
      store: await RegistryIndexStore.open(database2),
      confirmations: 0,
      pollIntervalMs: 50,
    });
    await expect(follower2.start()).rejects.toThrow(/use another data directory/);
    await database2.close();
  }, 60_000);
});
