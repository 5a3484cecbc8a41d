/** The in-process test head's temp files: all inside its own directory, all gone after destroy(). */
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { startTestHead } from "../../testkit/head";
import { testkitHooks } from "./fixture";

describe("startTestHead", () => {
  const { chain, privateTmpdir } = testkitHooks();

  it("writes its deployment file and data inside one temp directory of its own and leaves nothing after destroy", async () => {
    const tmp = privateTmpdir();
    const head = await startTestHead(chain(), { clusterId: "41" });
    const deploymentFile = head.flags.deploymentFile as string;
    expect(existsSync(deploymentFile)).toBe(true);
    // One entry in the temp root: the head's own directory, holding the deployment file too.
    expect(tmp.entries()).toHaveLength(1);
    await head.destroy();
    expect(existsSync(deploymentFile)).toBe(false);
    expect(tmp.entries()).toEqual([]);
  });

  it("leaves nothing behind when the head cannot start", async () => {
    const tmp = privateTmpdir();
    await expect(startTestHead(chain(), { clusterId: "42", radius: "0" })).rejects.toThrow(/radius/i);
    expect(tmp.entries()).toEqual([]);
  });
});
