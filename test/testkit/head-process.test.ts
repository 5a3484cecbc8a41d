/**
 * The one cluster-head launcher tests and the bench share: restart on the same URL and data,
 * graceful stop, ports read from the head's start line, and nothing left behind.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { headProcess } from "../../testkit/head-process";
import { testkitHooks } from "./fixture";

async function health(url: string): Promise<{ httpStatus: number; headAddress?: string }> {
  const response = await fetch(`${url}/health`);
  return { ...((await response.json()) as { headAddress?: string }), httpStatus: response.status };
}

describe("headProcess", () => {
  const { chain, privateTmpdir } = testkitHooks();

  it("killed with SIGKILL, starts again on the same URL with the same key and token; destroy leaves nothing", async () => {
    const tmp = privateTmpdir();
    const head = await headProcess(chain(), { flags: ["--cluster-id", "52"] });
    try {
      expect(head.clusterId).toBe(52);
      expect(await health(head.url)).toMatchObject({ httpStatus: 200, headAddress: head.headAddress });
      const { url, headAddress, pid } = head;
      expect(readFileSync(`/proc/${pid}/cmdline`, "utf8")).toContain(head.dataDir);
      await head.kill();
      expect(head.child?.signalCode).toBe("SIGKILL");
      await head.start();
      expect(head.pid).not.toBe(pid);
      expect(head.url).toBe(url);
      expect(head.headAddress).toBe(headAddress);
      const members = await fetch(`${url}/v1/members`, {
        headers: { authorization: `Bearer ${head.adminToken}` },
      });
      expect(members.status).toBe(200);
    } finally {
      await head.destroy();
    }
    expect(tmp.entries()).toEqual([]);
    expect(tmp.processes()).toEqual([]);
  }, 120_000);

  it("stop() ends the head with SIGTERM, not SIGKILL, and its data stay for the next start", async () => {
    const head = await headProcess(chain(), { flags: ["--cluster-id", "53"] });
    try {
      await head.stop();
      // Exit 0 from the head's SIGTERM handler; or SIGTERM itself when it came before main.ts
      // installed the handler, right after the start line. Never the SIGKILL fallback.
      expect([0, "SIGTERM"]).toContain(head.child?.exitCode ?? head.child?.signalCode);
      expect(existsSync(join(head.dataDir, "head.key"))).toBe(true);
      const { headAddress } = head;
      await head.start();
      expect(head.headAddress).toBe(headAddress);
    } finally {
      await head.destroy();
    }
  }, 120_000);

  it("with port 0 and the product settings, the URLs come from the head's start line", async () => {
    const head = await headProcess(chain(), {
      port: 0,
      settings: "product",
      runner: "built",
      flags: ["--cluster-id", "54"],
    });
    try {
      expect(head.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(head.url).not.toMatch(/:0$/);
      expect(head.brokerUrl).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
      expect((await health(head.url)).httpStatus).toBe(200);
      const cmdline = readFileSync(`/proc/${head.pid}/cmdline`, "utf8").split("\0");
      expect(cmdline).not.toContain("--poll-interval-ms");
      expect(cmdline).not.toContain("--log-level");
    } finally {
      await head.destroy();
    }
  }, 120_000);

  it("a head that exits at start leaves no temp directory behind", async () => {
    const tmp = privateTmpdir();
    await expect(headProcess(chain(), ["--cluster-id", "51", "--radius", "0"])).rejects.toThrow(/radius/i);
    expect(tmp.entries()).toEqual([]);
  });

  it("a head not ready in time is killed, and leaves no process or temp directory behind", async () => {
    const tmp = privateTmpdir();
    await expect(headProcess(chain(), { flags: ["--cluster-id", "55"], readyTimeoutMs: 1 })).rejects.toThrow(
      /not ready within 1 ms/,
    );
    expect(tmp.processes()).toEqual([]);
    expect(tmp.entries()).toEqual([]);
  });
});
