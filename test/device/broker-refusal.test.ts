/**
 * What a device is told when the broker refuses its credential: a revoked device is told it can
 * never join again (joining would only fail), any other ended membership is told to join again.
 * Real chain, head and embedded broker.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Device } from "../../device/sdk";
import { startTestChain, type TestChain } from "../../testkit/chain";
import { headRegistry, joinedDevice, removeDir } from "../../testkit/device";
import { startTestHead, type TestHead } from "../../testkit/head";

describe("broker refusals explained", () => {
  let chain: TestChain;
  let head: TestHead;
  const dirs: string[] = [];

  beforeAll(async () => {
    chain = await startTestChain();
    head = await startTestHead(chain);
  }, 60_000);
  afterAll(async () => {
    await head?.destroy();
    await chain?.stop();
    for (const dir of dirs) removeDir(dir);
  });

  /** Closes `device` and opens its data directory again, as the next CLI call would. */
  async function reopened(device: Device): Promise<Device> {
    await device.close();
    return Device.open(device.dataDir, { registry: headRegistry(head) });
  }

  it("tells a revoked device that it cannot join again, instead of advising a join", async () => {
    const device = await joinedDevice(head);
    dirs.push(device.dataDir);
    expect((await head.operator("POST", `/v1/devices/${device.deviceId}/revoke`)).status).toBe(200);
    const again = await reopened(device);
    try {
      const refusal = await again.connect().then(
        () => undefined,
        (error: { code: string; message: string }) => error,
      );
      expect(refusal?.code).toBe("E_BROKER_REFUSED");
      expect(refusal?.message).toMatch(/revoked on chain and can never join again/);
      expect(refusal?.message).not.toMatch(/join again \(/);
    } finally {
      await again.close();
    }
  });

  it("tells a device whose membership ended otherwise to join again", async () => {
    const device = await joinedDevice(head);
    dirs.push(device.dataDir);
    // The head ends the membership (as expiry or a newer join would); the device is still enrolled.
    await head.context.members.remove(head.context.members.getByDevice(device.deviceId)!);
    const again = await reopened(device);
    try {
      const refusal = await again.connect().then(
        () => undefined,
        (error: { code: string; message: string }) => error,
      );
      expect(refusal?.code).toBe("E_BROKER_REFUSED");
      expect(refusal?.message).toMatch(/join again \(`iotguard device join`\)/);
    } finally {
      await again.close();
    }
  });
});
