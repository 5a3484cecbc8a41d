/**
 * The build lock (scripts/build.cjs) must not wait for a builder that was killed while its parent
 * waits synchronously: that builder is a zombie nobody reaps, which still answers kill(pid, 0).
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { waitUntil } from "../../testkit/wait";

const { isZombie } = createRequire(__filename)("../../scripts/build.cjs") as {
  isZombie(pid: number): boolean;
};

describe("the build lock's owner check", () => {
  it("tells a zombie process from a live one", async () => {
    // bash starts a short child, then becomes `sleep`, which never reaps it: the child turns zombie.
    const parent = spawn("bash", ["-c", "sleep 0.05 & echo $!; exec sleep 30"], {
      stdio: ["ignore", "pipe", "ignore"],
    });
    try {
      const childPid = await new Promise<number>((resolve) =>
        parent.stdout.once("data", (chunk: Buffer) => resolve(Number(chunk.toString().trim()))),
      );
      expect(isZombie(parent.pid as number)).toBe(false);
      await waitUntil(() => isZombie(childPid), "the child to become a zombie", 5_000);
      expect(() => process.kill(childPid, 0)).not.toThrow();
    } finally {
      parent.kill("SIGKILL");
    }
  });

  it("says no for a process that does not exist", () => {
    expect(isZombie(2 ** 22 + 12345)).toBe(false);
  });
});
