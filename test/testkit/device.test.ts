/** Device fixtures: a joined device's temp data goes with its head. */
import { describe, expect, it } from "vitest";
import { joinedDevice } from "../../testkit/device";
import { startTestHead } from "../../testkit/head";
import { testkitHooks } from "./fixture";

describe("joinedDevice", () => {
  const { chain, privateTmpdir } = testkitHooks();

  it("without a data directory, keeps the device inside the head's temp directory, deleted with the head", async () => {
    const tmp = privateTmpdir();
    const head = await startTestHead(chain(), { clusterId: "43" });
    const device = await joinedDevice(head);
    expect(device.dataDir.startsWith(`${head.dir}/`)).toBe(true);
    expect((await device.status()).head?.headAddress).toBe(head.headAddress.toLowerCase());
    await device.close();
    await head.destroy();
    expect(tmp.entries()).toEqual([]);
  });
});
