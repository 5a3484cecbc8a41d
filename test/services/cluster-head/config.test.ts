import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../../services/cluster-head/config";

const run = promisify(execFile);

describe("cluster head configuration", () => {
  it("takes flags over environment over defaults", () => {
    const config = loadConfig({ port: "9000" }, { IOTGUARD_HTTP_PORT: "9001", IOTGUARD_CLUSTER_ID: "5" });
    expect([config.port, config.clusterId, config.host]).toEqual([9000, 5, "127.0.0.1"]);
  });

  it.each([
    [{ port: "abc" }, /--port \/ IOTGUARD_HTTP_PORT/],
    [{ clusterId: "0" }, /--cluster-id/],
    [{ rpcUrl: "not a url" }, /--rpc-url/],
    [{ radius: "-1" }, /--radius/],
  ])("refuses %o naming the setting", (flags, message) => {
    expect(() => loadConfig(flags, {})).toThrow(ConfigError);
    expect(() => loadConfig(flags, {})).toThrow(message);
  });

  it("never echoes a secret setting's value", () => {
    expect(() => loadConfig({ adminToken: "short-secret" }, {})).toThrow(/--admin-token/);
    expect(() => loadConfig({ adminToken: "short-secret" }, {})).not.toThrow(/short-secret/);
  });

  it("the CLI stops with one line and exit code 2 on a bad setting", async () => {
    const error = (await run(
      process.execPath,
      ["--import", "tsx", "services/cluster-head/main.ts", "--port", "abc"],
      {
        cwd: resolve(__dirname, "../../.."),
      },
    ).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(error.code).toBe(2);
    expect(error.stderr.trim().split("\n")).toHaveLength(1);
    expect(error.stderr).toMatch(/invalid setting --port \/ IOTGUARD_HTTP_PORT/);
  }, 30_000);
});
