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

  it("accepts the hybrid join suite preferred and classic allowed by default, and a hybrid-only policy", () => {
    expect(loadConfig({}, {}).joinSuites).toEqual([2, 1]);
    expect(loadConfig({}, { IOTGUARD_JOIN_SUITES: "hybrid" }).joinSuites).toEqual([2]);
    expect(
      loadConfig({ joinSuites: "classic,hybrid" }, { IOTGUARD_JOIN_SUITES: "hybrid" }).joinSuites,
    ).toEqual([1, 2]);
  });

  it.each([
    [{ joinSuites: "kyber" }, /--join-suites \/ IOTGUARD_JOIN_SUITES .*unknown join suite "kyber"/],
    [{ joinSuites: "hybrid,hybrid" }, /--join-suites .*listed twice/],
    [{ port: "abc" }, /--port \/ IOTGUARD_HTTP_PORT/],
    [{ clusterId: "0" }, /--cluster-id/],
    [{ rpcUrl: "not a url" }, /--rpc-url/],
    [{ radius: "-1" }, /--radius/],
    [{ rateLimitExempt: "127.0.0.1,localhost" }, /--rate-limit-exempt .*not an IP address: "localhost"/],
    [{ joinRate: "0" }, /--join-rate \/ IOTGUARD_JOIN_RATE/],
    [{ apiBurst: "0.5" }, /--api-burst/],
    [{ maxConcurrentJoins: "0" }, /--max-concurrent-joins/],
    [{ maxSessionsPerDevice: "1" }, /--max-sessions-per-device/],
    [{ journalSegmentKib: "3" }, /--journal-segment-kib/],
    [{ maxJsonBody: "10" }, /--max-json-body/],
  ])("refuses %o naming the setting", (flags, message) => {
    expect(() => loadConfig(flags, {})).toThrow(ConfigError);
    expect(() => loadConfig(flags, {})).toThrow(message);
  });

  it("has abuse limits on by default, exempting only the head's own loopback addresses", () => {
    const config = loadConfig({}, {});
    expect(config).toMatchObject({
      joinRate: 2,
      joinBurst: 20,
      apiRate: 20,
      apiBurst: 50,
      maxConcurrentJoins: 32,
      maxJsonBody: 65536,
    });
    expect(config.rateLimitExempt).toEqual(["127.0.0.1", "::1"]);
    expect(loadConfig({ rateLimitExempt: "none" }, {}).rateLimitExempt).toEqual([]);
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
