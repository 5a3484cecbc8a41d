import { loadFixture, mine } from "@nomicfoundation/hardhat-network-helpers";
import hre from "hardhat";
import { describe, expect, it } from "vitest";
import { expectRevert } from "../helpers/revert";

const { ethers } = hre;
const CLUSTER = 7;
const OTHER_CLUSTER = 8;
const LAT = 52_520_008;
const LON = 13_404_954;
const RADIUS = 50_000; // 0.05° of arc

const id = (label: string) => ethers.id(label);
const Status = { None: 0n, Active: 1n, Revoked: 2n };

async function deployRegistryFixture() {
  const [admin, head, otherHead, stranger, deviceKey, newKey] = await ethers.getSigners();
  const factory = await ethers.getContractFactory("DeviceRegistry");
  const registry = await factory.deploy();
  await registry.waitForDeployment();
  return {
    registry,
    admin: admin!,
    head: head!,
    otherHead: otherHead!,
    stranger: stranger!,
    deviceKey: deviceKey!,
    newKey: newKey!,
  };
}

async function clusterFixture() {
  const f = await deployRegistryFixture();
  await (await f.registry.createCluster(CLUSTER, f.head.address, LAT, LON, RADIUS)).wait();
  await (await f.registry.createCluster(OTHER_CLUSTER, f.otherHead.address, -LAT, -LON, RADIUS)).wait();
  return f;
}

async function enrolledFixture() {
  const f = await clusterFixture();
  const asHead = f.registry.connect(f.head);
  await (await asHead.enroll(CLUSTER, id("device-1"), f.deviceKey.address)).wait();
  return { ...f, asHead };
}

/** The events of one transaction, decoded through the registry ABI. */
async function eventsOf(
  registry: Awaited<ReturnType<typeof deployRegistryFixture>>["registry"],
  txPromise: Promise<{ wait(): Promise<unknown> }>,
) {
  const receipt = (await (await txPromise).wait()) as { logs: { topics: string[]; data: string }[] };
  return receipt.logs.map((log) => registry.interface.parseLog(log)).filter((e) => e !== null);
}

describe("DeviceRegistry", () => {
  describe("deployment and admin", () => {
    it("makes the deployer the admin and emits AdminTransferred from zero", async () => {
      const { registry, admin } = await loadFixture(deployRegistryFixture);
      expect(await registry.admin()).toBe(admin.address);
      const receipt = await registry.deploymentTransaction()!.wait();
      const event = registry.interface.parseLog(receipt!.logs[0]!);
      expect(event?.name).toBe("AdminTransferred");
      expect(event?.args.toArray()).toEqual([ethers.ZeroAddress, admin.address]);
    });

    describe("two-step transfer (transferAdmin, then acceptAdmin; cancellable)", () => {
      it("only offers the role: emits AdminTransferStarted, the admin stays admin", async () => {
        const { registry, admin, stranger } = await loadFixture(deployRegistryFixture);
        const events = await eventsOf(registry, registry.transferAdmin(stranger.address));
        expect(events.map((e) => [e.name, ...e.args.toArray()])).toEqual([
          ["AdminTransferStarted", admin.address, stranger.address],
        ]);
        expect(await registry.admin()).toBe(admin.address);
        expect(await registry.pendingAdmin()).toBe(stranger.address);
        await (await registry.createCluster(1, admin.address, 0, 0, 1)).wait(); // still the admin's to use
        await expectRevert(
          registry.connect(stranger).createCluster(2, stranger.address, 0, 0, 1),
          registry,
          "DeviceRegistryNotAdmin",
          [stranger.address],
        );
      });

      it("moves the role when the offered account accepts: AdminTransferred, offer cleared", async () => {
        const { registry, admin, stranger } = await loadFixture(deployRegistryFixture);
        await (await registry.transferAdmin(stranger.address)).wait();
        const events = await eventsOf(registry, registry.connect(stranger).acceptAdmin());
        expect(events.map((e) => [e.name, ...e.args.toArray()])).toEqual([
          ["AdminTransferred", admin.address, stranger.address],
        ]);
        expect(await registry.admin()).toBe(stranger.address);
        expect(await registry.pendingAdmin()).toBe(ethers.ZeroAddress);
        await expectRevert(
          registry.createCluster(1, admin.address, 0, 0, 1),
          registry,
          "DeviceRegistryNotAdmin",
          [admin.address],
        );
        await (await registry.connect(stranger).createCluster(1, admin.address, 0, 0, 1)).wait();
        // Accepting twice is impossible: the offer is gone.
        await expectRevert(
          registry.connect(stranger).acceptAdmin(),
          registry,
          "DeviceRegistryNotPendingAdmin",
          [stranger.address],
        );
      });

      it("refuses acceptAdmin from anyone but the offered account, the admin included, and with no offer", async () => {
        const { registry, admin, head, stranger } = await loadFixture(deployRegistryFixture);
        await expectRevert(
          registry.connect(stranger).acceptAdmin(),
          registry,
          "DeviceRegistryNotPendingAdmin",
          [stranger.address],
        );
        await (await registry.transferAdmin(stranger.address)).wait();
        for (const caller of [admin, head])
          await expectRevert(
            registry.connect(caller).acceptAdmin(),
            registry,
            "DeviceRegistryNotPendingAdmin",
            [caller.address],
          );
        expect(await registry.admin()).toBe(admin.address);
      });

      it("lets a second offer replace a mistyped first one, which can then no longer accept", async () => {
        const { registry, admin, head, stranger } = await loadFixture(deployRegistryFixture);
        await (await registry.transferAdmin(head.address)).wait();
        await (await registry.transferAdmin(stranger.address)).wait();
        expect(await registry.pendingAdmin()).toBe(stranger.address);
        await expectRevert(registry.connect(head).acceptAdmin(), registry, "DeviceRegistryNotPendingAdmin", [
          head.address,
        ]);
        await (await registry.connect(stranger).acceptAdmin()).wait();
        expect(await registry.admin()).toBe(stranger.address);
        expect(admin.address).not.toBe(stranger.address);
      });

      it("cancels a pending offer: AdminTransferCancelled, and the cancelled account cannot accept", async () => {
        const { registry, admin, stranger } = await loadFixture(deployRegistryFixture);
        await (await registry.transferAdmin(stranger.address)).wait();
        const events = await eventsOf(registry, registry.cancelAdminTransfer());
        expect(events.map((e) => [e.name, ...e.args.toArray()])).toEqual([
          ["AdminTransferCancelled", admin.address, stranger.address],
        ]);
        expect(await registry.pendingAdmin()).toBe(ethers.ZeroAddress);
        await expectRevert(
          registry.connect(stranger).acceptAdmin(),
          registry,
          "DeviceRegistryNotPendingAdmin",
          [stranger.address],
        );
        await expectRevert(registry.cancelAdminTransfer(), registry, "DeviceRegistryNoPendingAdmin");
        expect(await registry.admin()).toBe(admin.address);
      });

      it("refuses an offer or a cancel by a non-admin, and an offer to zero", async () => {
        const { registry, stranger } = await loadFixture(deployRegistryFixture);
        await expectRevert(
          registry.connect(stranger).transferAdmin(stranger.address),
          registry,
          "DeviceRegistryNotAdmin",
          [stranger.address],
        );
        await (await registry.transferAdmin(stranger.address)).wait();
        await expectRevert(
          registry.connect(stranger).cancelAdminTransfer(),
          registry,
          "DeviceRegistryNotAdmin",
          [stranger.address],
        );
        await expectRevert(registry.transferAdmin(ethers.ZeroAddress), registry, "DeviceRegistryZeroAddress");
        expect(await registry.pendingAdmin()).toBe(stranger.address);
      });
    });
  });

  describe("clusters", () => {
    it("creates a cluster with its head and geometry and emits ClusterCreated", async () => {
      const { registry, head } = await loadFixture(deployRegistryFixture);
      const events = await eventsOf(
        registry,
        registry.createCluster(CLUSTER, head.address, LAT, LON, RADIUS),
      );
      expect(events.map((e) => [e.name, ...e.args.toArray()])).toEqual([
        ["ClusterCreated", BigInt(CLUSTER), head.address, BigInt(LAT), BigInt(LON), BigInt(RADIUS)],
      ]);
      const cluster = await registry.getCluster(CLUSTER);
      expect(cluster.head).toBe(head.address);
      expect([cluster.latitude, cluster.longitude, cluster.radius]).toEqual([
        BigInt(LAT),
        BigInt(LON),
        BigInt(RADIUS),
      ]);
      expect([cluster.activeDevices, cluster.enrolledDevices]).toEqual([0n, 0n]);
      expect(await registry.clusterOf(head.address)).toBe(BigInt(CLUSTER));
      expect(await registry.clusterCount()).toBe(1n);
    });

    it("accepts the extreme valid geometry", async () => {
      const { registry, head } = await loadFixture(deployRegistryFixture);
      await (await registry.createCluster(1, head.address, -90_000_000, 180_000_000, 180_000_000)).wait();
      expect((await registry.getCluster(1)).radius).toBe(180_000_000n);
    });

    it("refuses a non-admin, cluster 0, a taken ID, a zero head, a head already in use", async () => {
      const { registry, head, stranger } = await loadFixture(clusterFixture);
      await expectRevert(
        registry.connect(stranger).createCluster(9, stranger.address, 0, 0, 1),
        registry,
        "DeviceRegistryNotAdmin",
        [stranger.address],
      );
      await expectRevert(
        registry.createCluster(0, stranger.address, 0, 0, 1),
        registry,
        "DeviceRegistryInvalidClusterId",
      );
      await expectRevert(
        registry.createCluster(CLUSTER, stranger.address, 0, 0, 1),
        registry,
        "DeviceRegistryClusterExists",
        [CLUSTER],
      );
      await expectRevert(
        registry.createCluster(9, ethers.ZeroAddress, 0, 0, 1),
        registry,
        "DeviceRegistryZeroAddress",
      );
      await expectRevert(
        registry.createCluster(9, head.address, 0, 0, 1),
        registry,
        "DeviceRegistryHeadInUse",
        [head.address, CLUSTER],
      );
    });

    it.each([
      [90_000_001, 0, 1],
      [-90_000_001, 0, 1],
      [0, 180_000_001, 1],
      [0, -180_000_001, 1],
      [0, 0, 0],
      [0, 0, 180_000_001],
    ])("refuses invalid geometry lat=%i lon=%i radius=%i", async (lat, lon, radius) => {
      const { registry, stranger } = await loadFixture(deployRegistryFixture);
      await expectRevert(
        registry.createCluster(9, stranger.address, lat, lon, radius),
        registry,
        "DeviceRegistryInvalidGeometry",
        [lat, lon, radius],
      );
    });

    it("replaces and removes a head, emitting ClusterHeadChanged", async () => {
      const { registry, head, stranger } = await loadFixture(clusterFixture);
      let events = await eventsOf(registry, registry.setClusterHead(CLUSTER, stranger.address));
      expect(events.map((e) => [e.name, ...e.args.toArray()])).toEqual([
        ["ClusterHeadChanged", BigInt(CLUSTER), head.address, stranger.address],
      ]);
      expect(await registry.clusterOf(head.address)).toBe(0n);
      expect(await registry.clusterOf(stranger.address)).toBe(BigInt(CLUSTER));
      await expectRevert(
        registry.connect(head).enroll(CLUSTER, id("d"), head.address),
        registry,
        "DeviceRegistryNotClusterHead",
        [CLUSTER, head.address],
      );

      events = await eventsOf(registry, registry.setClusterHead(CLUSTER, ethers.ZeroAddress));
      expect(events.map((e) => [e.name, ...e.args.toArray()])).toEqual([
        ["ClusterHeadChanged", BigInt(CLUSTER), stranger.address, ethers.ZeroAddress],
      ]);
      expect((await registry.getCluster(CLUSTER)).head).toBe(ethers.ZeroAddress);
      await expectRevert(
        registry.connect(stranger).enroll(CLUSTER, id("d"), head.address),
        registry,
        "DeviceRegistryNotClusterHead",
        [CLUSTER, stranger.address],
      );

      // A removed head's slot can be filled again.
      await (await registry.setClusterHead(CLUSTER, head.address)).wait();
      expect((await registry.getCluster(CLUSTER)).head).toBe(head.address);
    });

    it("refuses setClusterHead by a non-admin, for an unknown cluster, or to a head in use", async () => {
      const { registry, otherHead, stranger } = await loadFixture(clusterFixture);
      await expectRevert(
        registry.connect(stranger).setClusterHead(CLUSTER, stranger.address),
        registry,
        "DeviceRegistryNotAdmin",
        [stranger.address],
      );
      await expectRevert(
        registry.setClusterHead(99, stranger.address),
        registry,
        "DeviceRegistryUnknownCluster",
        [99],
      );
      await expectRevert(
        registry.setClusterHead(CLUSTER, otherHead.address),
        registry,
        "DeviceRegistryHeadInUse",
        [otherHead.address, OTHER_CLUSTER],
      );
    });
  });

  describe("enroll", () => {
    it("records the device in one slot and emits DeviceEnrolled", async () => {
      const { registry, head, deviceKey } = await loadFixture(clusterFixture);
      const tx = registry.connect(head).enroll(CLUSTER, id("device-1"), deviceKey.address);
      const events = await eventsOf(registry, tx);
      expect(events.map((e) => [e.name, ...e.args.toArray()])).toEqual([
        ["DeviceEnrolled", id("device-1"), BigInt(CLUSTER), deviceKey.address],
      ]);
      const device = await registry.getDevice(id("device-1"));
      expect(device.keyAddress).toBe(deviceKey.address);
      expect(device.clusterId).toBe(BigInt(CLUSTER));
      expect(device.status).toBe(Status.Active);
      expect(device.enrolledBlock).toBe(BigInt(await ethers.provider.getBlockNumber()));
      expect(device.keyVersion).toBe(0n);
      expect(await registry.isActive(id("device-1"))).toBe(true);
      const cluster = await registry.getCluster(CLUSTER);
      expect([cluster.activeDevices, cluster.enrolledDevices]).toEqual([1n, 1n]);
      expect(await registry.deviceCount()).toBe(1n);
    });

    it("refuses a caller that is not the cluster's head, an unknown cluster, zero ID or key, a reused ID", async () => {
      const { registry, asHead, otherHead, deviceKey } = await loadFixture(enrolledFixture);
      await expectRevert(
        registry.connect(otherHead).enroll(CLUSTER, id("x"), deviceKey.address),
        registry,
        "DeviceRegistryNotClusterHead",
        [CLUSTER, otherHead.address],
      );
      await expectRevert(
        asHead.enroll(99, id("x"), deviceKey.address),
        registry,
        "DeviceRegistryUnknownCluster",
        [99],
      );
      await expectRevert(
        asHead.enroll(CLUSTER, ethers.ZeroHash, deviceKey.address),
        registry,
        "DeviceRegistryInvalidDeviceId",
      );
      await expectRevert(
        asHead.enroll(CLUSTER, id("x"), ethers.ZeroAddress),
        registry,
        "DeviceRegistryZeroAddress",
      );
      await expectRevert(
        asHead.enroll(CLUSTER, id("device-1"), deviceKey.address),
        registry,
        "DeviceRegistryAlreadyEnrolled",
        [id("device-1")],
      );
      // Another cluster's head cannot take over the ID either.
      await expectRevert(
        registry.connect(otherHead).enroll(OTHER_CLUSTER, id("device-1"), deviceKey.address),
        registry,
        "DeviceRegistryAlreadyEnrolled",
        [id("device-1")],
      );
    });

    it("never reuses a revoked ID", async () => {
      const { registry, asHead, deviceKey } = await loadFixture(enrolledFixture);
      await (await asHead.revoke(id("device-1"))).wait();
      await expectRevert(
        asHead.enroll(CLUSTER, id("device-1"), deviceKey.address),
        registry,
        "DeviceRegistryAlreadyEnrolled",
        [id("device-1")],
      );
    });
  });

  describe("enrollBatch", () => {
    it("enrolls every device, emits one event each and counts them", async () => {
      const { registry, head } = await loadFixture(clusterFixture);
      const ids = Array.from({ length: 5 }, (_, i) => id(`batch-${i}`));
      const keys = Array.from({ length: 5 }, () => ethers.Wallet.createRandom().address);
      const events = await eventsOf(registry, registry.connect(head).enrollBatch(CLUSTER, ids, keys));
      expect(events.map((e) => [e.name, ...e.args.toArray()])).toEqual(
        ids.map((d, i) => ["DeviceEnrolled", d, BigInt(CLUSTER), keys[i]]),
      );
      for (const [i, deviceId] of ids.entries()) {
        expect((await registry.getDevice(deviceId)).keyAddress).toBe(keys[i]);
      }
      expect((await registry.getCluster(CLUSTER)).activeDevices).toBe(5n);
      expect(await registry.deviceCount()).toBe(5n);
    });

    it("is all or nothing: one bad entry reverts the whole batch", async () => {
      const { registry, asHead, deviceKey } = await loadFixture(enrolledFixture);
      await expectRevert(
        asHead.enrollBatch(CLUSTER, [id("fresh"), id("device-1")], [deviceKey.address, deviceKey.address]),
        registry,
        "DeviceRegistryAlreadyEnrolled",
        [id("device-1")],
      );
      expect((await registry.getDevice(id("fresh"))).status).toBe(Status.None);
      expect((await registry.getCluster(CLUSTER)).enrolledDevices).toBe(1n);
    });

    it("refuses mismatched or empty arrays and a non-head caller", async () => {
      const { registry, head, stranger, deviceKey } = await loadFixture(clusterFixture);
      await expectRevert(
        registry.connect(head).enrollBatch(CLUSTER, [id("a"), id("b")], [deviceKey.address]),
        registry,
        "DeviceRegistryBatchLengthMismatch",
        [2, 1],
      );
      await expectRevert(
        registry.connect(head).enrollBatch(CLUSTER, [], []),
        registry,
        "DeviceRegistryBatchLengthMismatch",
        [0, 0],
      );
      await expectRevert(
        registry.connect(stranger).enrollBatch(CLUSTER, [id("a")], [deviceKey.address]),
        registry,
        "DeviceRegistryNotClusterHead",
        [CLUSTER, stranger.address],
      );
      await expectRevert(
        registry.connect(head).enrollBatch(CLUSTER, [id("a")], [ethers.ZeroAddress]),
        registry,
        "DeviceRegistryZeroAddress",
      );
      await expectRevert(
        registry.connect(head).enrollBatch(CLUSTER, [ethers.ZeroHash], [deviceKey.address]),
        registry,
        "DeviceRegistryInvalidDeviceId",
      );
    });
  });

  describe("revoke", () => {
    it("revokes, emits DeviceRevoked and updates the counts", async () => {
      const { registry, asHead } = await loadFixture(enrolledFixture);
      const events = await eventsOf(registry, asHead.revoke(id("device-1")));
      expect(events.map((e) => [e.name, ...e.args.toArray()])).toEqual([
        ["DeviceRevoked", id("device-1"), BigInt(CLUSTER)],
      ]);
      expect(await registry.isActive(id("device-1"))).toBe(false);
      expect((await registry.getDevice(id("device-1"))).status).toBe(Status.Revoked);
      const cluster = await registry.getCluster(CLUSTER);
      expect([cluster.activeDevices, cluster.enrolledDevices]).toEqual([0n, 1n]);
    });

    it("refuses an unknown device, a revoked device and a head of another cluster", async () => {
      const { registry, asHead, otherHead } = await loadFixture(enrolledFixture);
      await expectRevert(asHead.revoke(id("nobody")), registry, "DeviceRegistryUnknownDevice", [
        id("nobody"),
      ]);
      await expectRevert(
        registry.connect(otherHead).revoke(id("device-1")),
        registry,
        "DeviceRegistryNotClusterHead",
        [CLUSTER, otherHead.address],
      );
      await (await asHead.revoke(id("device-1"))).wait();
      await expectRevert(asHead.revoke(id("device-1")), registry, "DeviceRegistryDeviceRevoked", [
        id("device-1"),
      ]);
    });
  });

  describe("rotateKey", () => {
    it("replaces the key, bumps the key version and emits DeviceKeyRotated", async () => {
      const { registry, asHead, deviceKey, newKey } = await loadFixture(enrolledFixture);
      const events = await eventsOf(registry, asHead.rotateKey(id("device-1"), newKey.address));
      expect(events.map((e) => [e.name, ...e.args.toArray()])).toEqual([
        ["DeviceKeyRotated", id("device-1"), BigInt(CLUSTER), deviceKey.address, newKey.address, 1n],
      ]);
      const device = await registry.getDevice(id("device-1"));
      expect([device.keyAddress, device.keyVersion, device.status]).toEqual([
        newKey.address,
        1n,
        Status.Active,
      ]);
    });

    it("refuses zero, the same key, a revoked or unknown device, and another cluster's head", async () => {
      const { registry, asHead, otherHead, deviceKey, newKey } = await loadFixture(enrolledFixture);
      await expectRevert(
        asHead.rotateKey(id("device-1"), ethers.ZeroAddress),
        registry,
        "DeviceRegistryZeroAddress",
      );
      await expectRevert(
        asHead.rotateKey(id("device-1"), deviceKey.address),
        registry,
        "DeviceRegistrySameKey",
        [id("device-1")],
      );
      await expectRevert(
        asHead.rotateKey(id("nobody"), newKey.address),
        registry,
        "DeviceRegistryUnknownDevice",
        [id("nobody")],
      );
      await expectRevert(
        registry.connect(otherHead).rotateKey(id("device-1"), newKey.address),
        registry,
        "DeviceRegistryNotClusterHead",
        [CLUSTER, otherHead.address],
      );
      await (await asHead.revoke(id("device-1"))).wait();
      await expectRevert(
        asHead.rotateKey(id("device-1"), newKey.address),
        registry,
        "DeviceRegistryDeviceRevoked",
        [id("device-1")],
      );
    });

    it("refuses a rotation past key version 65535", async () => {
      const { registry, asHead } = await loadFixture(enrolledFixture);
      // Write keyVersion = 0xffff straight into the device's slot rather than rotate 65,535 times.
      // Slot layout (packed, low to high): keyAddress(20) clusterId(4) status(1) enrolledBlock(5) keyVersion(2).
      const devicesSlot = 1n; // _admin is slot 0, _devices slot 1
      const slot = ethers.keccak256(
        ethers.AbiCoder.defaultAbiCoder().encode(["bytes32", "uint256"], [id("device-1"), devicesSlot]),
      );
      const raw = BigInt(await ethers.provider.getStorage(await registry.getAddress(), slot));
      const patched = raw | (0xffffn << 240n);
      await hre.network.provider.send("hardhat_setStorageAt", [
        await registry.getAddress(),
        slot,
        ethers.toBeHex(patched, 32),
      ]);
      expect((await registry.getDevice(id("device-1"))).keyVersion).toBe(0xffffn);
      await expectRevert(
        asHead.rotateKey(id("device-1"), ethers.Wallet.createRandom().address),
        registry,
        "DeviceRegistryKeyVersionExhausted",
        [id("device-1")],
      );
    });
  });

  describe("views", () => {
    it("returns empty records for unknown IDs", async () => {
      const { registry } = await loadFixture(clusterFixture);
      expect(await registry.isActive(id("nobody"))).toBe(false);
      expect((await registry.getDevice(id("nobody"))).status).toBe(Status.None);
      expect((await registry.getCluster(99)).head).toBe(ethers.ZeroAddress);
      expect(await registry.clusterOf(ethers.ZeroAddress)).toBe(0n);
    });

    it("counts clusters and devices across clusters", async () => {
      const { registry, head, otherHead } = await loadFixture(clusterFixture);
      await (
        await registry.connect(head).enrollBatch(CLUSTER, [id("a"), id("b")], [head.address, head.address])
      ).wait();
      await (await registry.connect(otherHead).enroll(OTHER_CLUSTER, id("c"), head.address)).wait();
      await mine(1);
      expect(await registry.clusterCount()).toBe(2n);
      expect(await registry.deviceCount()).toBe(3n);
    });
  });

  describe("gas", () => {
    it("stays within the enrollment budgets (≤ 55k single, ≤ 30k per device in a batch of 100)", async () => {
      const { registry, head } = await loadFixture(clusterFixture);
      const single = await (
        await registry.connect(head).enroll(CLUSTER, id("gas-single"), head.address)
      ).wait();
      const ids = Array.from({ length: 100 }, (_, i) => id(`gas-batch-${i}`));
      const keys = ids.map(() => ethers.Wallet.createRandom().address);
      const batch = await (await registry.connect(head).enrollBatch(CLUSTER, ids, keys)).wait();
      expect(single!.gasUsed).toBeLessThanOrEqual(55_000n);
      expect(batch!.gasUsed / 100n).toBeLessThanOrEqual(30_000n);
    });

    it("keeps each step of an admin transfer under 55k gas", async () => {
      const { registry, stranger } = await loadFixture(deployRegistryFixture);
      const offer = await (await registry.transferAdmin(stranger.address)).wait();
      const accept = await (await registry.connect(stranger).acceptAdmin()).wait();
      expect(offer!.gasUsed).toBeLessThanOrEqual(55_000n);
      expect(accept!.gasUsed).toBeLessThanOrEqual(55_000n);
    });
  });
});
