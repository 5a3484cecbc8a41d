/**
 * chain/registry-events.ts decodes every DeviceRegistry event the contract emits for the admin
 * role, including the two-step transfer's offer and cancel, from real logs on Hardhat's network.
 */
import hre from "hardhat";
import type { Log } from "ethers";
import { describe, expect, it } from "vitest";
import { decodeRegistryLog } from "../../chain/registry-events";

const { ethers } = hre;

describe("registry event decoding", () => {
  it("decodes the admin transfer's offer, cancel, new offer and acceptance in order", async () => {
    const [admin, mistyped, next] = await ethers.getSigners();
    const registry = await (await ethers.getContractFactory("DeviceRegistry")).deploy();
    await registry.waitForDeployment();
    const logs: Log[] = [];
    // One after another: each step needs the one before it mined.
    for (const send of [
      () => registry.transferAdmin(mistyped!.address),
      () => registry.cancelAdminTransfer(),
      () => registry.transferAdmin(next!.address),
      () => registry.connect(next!).acceptAdmin(),
    ])
      logs.push(...((await (await send()).wait())!.logs as Log[]));
    const events = logs.map((log) => decodeRegistryLog(registry.interface, log));
    const lower = (address: string) => address.toLowerCase();
    expect(events.map((e) => e && { ...e, blockNumber: undefined, logIndex: undefined })).toEqual([
      {
        kind: "admin-transfer-started",
        admin: lower(admin!.address),
        newAdmin: lower(mistyped!.address),
        blockNumber: undefined,
        logIndex: undefined,
      },
      {
        kind: "admin-transfer-cancelled",
        admin: lower(admin!.address),
        cancelledAdmin: lower(mistyped!.address),
        blockNumber: undefined,
        logIndex: undefined,
      },
      {
        kind: "admin-transfer-started",
        admin: lower(admin!.address),
        newAdmin: lower(next!.address),
        blockNumber: undefined,
        logIndex: undefined,
      },
      {
        kind: "admin-transferred",
        previousAdmin: lower(admin!.address),
        newAdmin: lower(next!.address),
        blockNumber: undefined,
        logIndex: undefined,
      },
    ]);
  });
});
