/**
 * Reorganisations made with Hardhat snapshots (evm_snapshot, then evm_revert and new blocks): one
 * shallower than the confirmation depth never reaches the index; one of indexed blocks is rewound
 * to the common ancestor and replayed; one deeper than --max-reorg-depth halts the follower.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { id, Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChainIndexFollower } from "../../../../services/cluster-head/chain/index-follower";
import { connectRegistry } from "../../../../chain/registry-contract";
import { HeadDatabase } from "../../../../services/cluster-head/stores/database";
import {
  type IndexChange,
  RegistryIndexStore,
} from "../../../../services/cluster-head/stores/registry-index-store";
import { adminRegistry, startTestChain, type TestChain } from "../../../../testkit/chain";

const hex = (bytes32: string) => bytes32.slice(2).toLowerCase();

describe("ChainIndexFollower across reorganisations (real hardhat node)", () => {
  let chain: TestChain;
  let dir: string;
  const head = Wallet.createRandom();
  let asHead: ReturnType<typeof connectRegistry>;

  beforeAll(async () => {
    chain = await startTestChain();
    dir = mkdtempSync(join(tmpdir(), "iotguard-reorg-"));
    await (await adminRegistry(chain).createCluster(1, head.address, 0, 0, 500_000)).wait();
    await chain.fund(head.address);
    asHead = connectRegistry(chain.deployment, head.connect(chain.provider));
  }, 60_000);
  afterAll(async () => {
    await chain?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A follower on its own database; synced by hand (its poll timer is long) so each step is exact. */
  async function openFollower(name: string, confirmations: number, maxReorgDepth?: number) {
    const database = await HeadDatabase.open(join(dir, name));
    const store = await RegistryIndexStore.open(database);
    const follower = new ChainIndexFollower({
      provider: chain.provider,
      deployment: chain.deployment,
      store,
      confirmations,
      pollIntervalMs: 600_000,
      ...(maxReorgDepth === undefined ? {} : { maxReorgDepth }),
    });
    const changes: IndexChange[] = [];
    follower.onChanges(async (batch) => void changes.push(...batch));
    await follower.start();
    return {
      store,
      follower,
      changes,
      async close() {
        await follower.stop();
        await database.close();
      },
    };
  }

  it("never indexes an enrollment dropped by a reorganisation shallower than the confirmations", async () => {
    const f = await openFollower("shallow", 2);
    const snapshot = await chain.snapshot();
    await (await asHead.enroll(1, id("shallow"), Wallet.createRandom().address)).wait();
    await f.follower.syncOnce();
    expect(await f.store.getDevice(hex(id("shallow")))).toBeUndefined();
    await chain.revert(snapshot);
    await chain.mine(3);
    await f.follower.syncOnce();
    expect(f.follower.status()).toMatchObject({ state: "live", lagBlocks: 2, reorgs: { count: 0 } });
    expect(f.follower.status().indexedBlock).toBe((await chain.height()) - 2);
    expect(await f.store.getDevice(hex(id("shallow")))).toBeUndefined();
    expect(f.changes.filter((c) => c.kind !== "cluster-changed")).toEqual([]);
    await f.close();
  }, 60_000);

  it("rewinds indexed blocks to the common ancestor and replays what the chain now says", async () => {
    const keep = Wallet.createRandom().address;
    await (
      await asHead.enrollBatch(
        1,
        [id("kept"), id("revoked-then-not"), id("rotated-then-not")],
        [keep, keep, keep],
      )
    ).wait();
    const f = await openFollower("rewind", 0);
    const before = await chain.height();
    const snapshot = await chain.snapshot();
    // On the branch that will be dropped: one enrollment, one revocation, one rotation, one empty block.
    await (await asHead.enroll(1, id("vanishes"), keep)).wait();
    await (await asHead.revoke(id("revoked-then-not"))).wait();
    await (await asHead.rotateKey(id("rotated-then-not"), Wallet.createRandom().address)).wait();
    await chain.mine(1);
    await f.follower.syncOnce();
    expect(await f.store.getDevice(hex(id("vanishes")))).toMatchObject({ status: "active" });
    expect(await f.store.getDevice(hex(id("revoked-then-not")))).toMatchObject({ status: "revoked" });
    expect(f.follower.status().indexedBlock).toBe(before + 4);

    await chain.revert(snapshot);
    // The new branch: another enrollment, then blocks past the old tip.
    const fresh = Wallet.createRandom().address;
    await (await asHead.enroll(1, id("new-branch"), fresh)).wait();
    await chain.mine(4);
    f.changes.length = 0;
    await f.follower.syncOnce();

    expect(f.follower.status()).toMatchObject({
      state: "live",
      indexedBlock: before + 5,
      reorgs: { count: 1, last: { depth: 4, fromBlock: before + 4, ancestorBlock: before } },
    });
    expect(await f.store.getDevice(hex(id("vanishes")))).toBeUndefined();
    expect(await f.store.getDevice(hex(id("revoked-then-not")))).toMatchObject({ status: "active" });
    expect(await f.store.getDevice(hex(id("rotated-then-not")))).toMatchObject({
      keyVersion: 0,
      keyAddress: keep.toLowerCase(),
    });
    expect(await f.store.getDevice(hex(id("new-branch")))).toMatchObject({ keyAddress: fresh.toLowerCase() });
    // Replayed changes first, then what the rewind undid (for the head to reconcile).
    const label = (c: IndexChange) =>
      c.kind === "device-rewound"
        ? `rewound ${c.deviceId}`
        : c.kind === "cluster-changed"
          ? c.kind
          : `${c.kind} ${c.device.deviceId}`;
    expect(f.changes.map(label)).toEqual([
      `device-enrolled ${hex(id("new-branch"))}`,
      ...[id("rotated-then-not"), id("revoked-then-not"), id("vanishes")].map((d) => `rewound ${hex(d)}`),
    ]);
    // Following on from the new branch as usual.
    await (await asHead.revoke(id("new-branch"))).wait();
    await f.follower.syncOnce();
    expect(await f.store.getDevice(hex(id("new-branch")))).toMatchObject({ status: "revoked" });
    await f.close();
  }, 60_000);

  it("resumes after a restart and still rewinds blocks it indexed before it", async () => {
    let f = await openFollower("restart", 0);
    const snapshot = await chain.snapshot();
    await (await asHead.enroll(1, id("before-restart"), Wallet.createRandom().address)).wait();
    await f.follower.syncOnce();
    await f.close();
    await chain.revert(snapshot);
    await chain.mine(2);
    f = await openFollower("restart", 0);
    expect(f.follower.status()).toMatchObject({ state: "live", reorgs: { count: 1, last: { depth: 1 } } });
    expect(await f.store.getDevice(hex(id("before-restart")))).toBeUndefined();
    await f.close();
  }, 60_000);

  it("halts on a reorganisation deeper than --max-reorg-depth", async () => {
    const f = await openFollower("deep", 0, 2);
    const snapshot = await chain.snapshot();
    await (await asHead.enroll(1, id("deep"), Wallet.createRandom().address)).wait();
    await chain.mine(2);
    await f.follower.syncOnce();
    expect(await f.store.getDevice(hex(id("deep")))).toBeDefined();
    await chain.revert(snapshot);
    await chain.mine(4);
    await f.follower.syncOnce();
    expect(f.follower.status()).toMatchObject({ state: "halted", reorgs: { count: 0 } });
    expect(f.follower.status().haltReason).toMatch(/within 2 blocks \(--max-reorg-depth\)/);
    // Fails closed: the index is left as it was, nothing is rewound.
    expect(await f.store.getDevice(hex(id("deep")))).toBeDefined();
    await f.close();
  }, 60_000);
});
