/**
 * The SDK's join suites against real cluster heads on a real hardhat chain: hybrid by default, a
 * device pinned to one suite, and a head whose policy leaves no common suite.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Device, isDeviceError } from "../../device/sdk";
import { startTestChain, type TestChain } from "../../testkit/chain";
import { headRegistry, INSIDE, removeDir, tempDeviceDir } from "../../testkit/device";
import { startTestHead, type TestHead } from "../../testkit/head";

describe("device SDK join suites", () => {
  let chain: TestChain;
  let head: TestHead; // default: hybrid preferred, classic allowed
  let classicHead: TestHead; // --join-suites classic (a head that never offers hybrid)
  const devices: Device[] = [];

  /** A new device enrolled at `at`. */
  async function enrolled(at: TestHead): Promise<Device> {
    const device = await Device.open(tempDeviceDir(at), { registry: headRegistry(at) });
    devices.push(device);
    await device.init();
    await device.enroll(at.url, at.adminToken);
    return device;
  }

  beforeAll(async () => {
    chain = await startTestChain();
    head = await startTestHead(chain, { clusterId: "1" });
    classicHead = await startTestHead(chain, { clusterId: "2", joinSuites: "classic" });
  }, 90_000);
  afterAll(async () => {
    for (const d of devices) {
      await d.close();
      removeDir(d.dataDir);
    }
    await classicHead?.destroy();
    await head?.destroy();
    await chain?.stop();
  });

  it("joins with the hybrid suite by default and says which suite the head chose", async () => {
    const device = await enrolled(head);
    const joined = await device.join(head.url, { position: INSIDE });
    expect(joined.suite).toBe("hybrid");
  });

  it("a device pinned to classic joins a default head classically", async () => {
    const device = await enrolled(head);
    expect((await device.join(head.url, { position: INSIDE, joinSuites: ["classic"] })).suite).toBe(
      "classic",
    );
  });

  it("a device pinned to hybrid is refused by a classic-only head (E_SUITE_REFUSED); the default offer joins there classically", async () => {
    const device = await enrolled(classicHead);
    const error = await device
      .join(classicHead.url, { position: INSIDE, joinSuites: ["hybrid"] })
      .catch((e: unknown) => e);
    expect(isDeviceError(error, "E_HEAD_REFUSED")).toBe(true);
    expect((error as { headCode?: string }).headCode).toBe("E_SUITE_REFUSED");
    expect((await device.join(classicHead.url, { position: INSIDE })).suite).toBe("classic");
  });

  it("refuses an unknown join suite name as a bad argument", async () => {
    const device = await enrolled(head);
    const error = await device
      .join(head.url, { position: INSIDE, joinSuites: ["kyber" as never] })
      .catch((e: unknown) => e);
    expect(isDeviceError(error, "E_BAD_ARGUMENT")).toBe(true);
  });
});
