/**
 * `iotguard device publish` as a user runs it: the CLI in its own process (the built bin), a real
 * cluster head with its embedded broker, a real hardhat node, and a real collector (in this process)
 * storing into its embedded PGlite database. Readings cross several key rotations.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Device } from "../../../device/sdk";
import { startTestChain, type TestChain } from "../../../testkit/chain";
import { runCli } from "../../../testkit/cli";
import { startTestCollector, type TestCollector, collectorHeadOf } from "../../../testkit/collector";
import { joinedDevice, removeDir, waitUntil } from "../../../testkit/device";
import { startTestHead, type TestHead } from "../../../testkit/head";

const DATASET = join(__dirname, "../../../data/vitals.csv");

describe("iotguard device publish", () => {
  let chain: TestChain;
  let head: TestHead;
  let collector: TestCollector;
  let deviceDir: string;
  /** A member that receives frames but never acknowledges (it is no collector). */
  let silent: Device;
  const dirs: string[] = [];

  beforeAll(async () => {
    chain = await startTestChain();
    head = await startTestHead(chain);
    collector = await startTestCollector(collectorHeadOf(head, chain));
    const device = await joinedDevice(head);
    deviceDir = device.dataDir;
    await device.close();
    silent = await joinedDevice(head);
    await silent.connect();
  }, 90_000);

  afterAll(async () => {
    await silent?.close();
    await collector?.destroy();
    await head?.destroy();
    await chain?.stop();
    for (const d of dirs) removeDir(d);
  });

  const publish = (args: string[], timeoutMs = 90_000) =>
    runCli(["device", "publish", "--data-dir", deviceDir, "--json", ...args], {}, timeoutMs);

  it("stores every reading exactly once across three key rotations and prints the summary", async () => {
    const r = await publish([
      "--to",
      collector.deviceId,
      "--dataset",
      DATASET,
      "--loop",
      "--count",
      "1200",
      "--batch",
      "50",
      "--rotate-after-messages",
      "6",
      "--rotation-drain-ms",
      "500",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout.trim().split("\n").pop() as string);
    expect(summary).toMatchObject({ event: "published", sent: 1200, acknowledged: 1200, patient: "P01" });
    expect(summary.rotations).toBeGreaterThanOrEqual(3);
    // Not a terminal: plain progress lines on stderr, no bar redraws.
    expect(r.stderr).not.toContain("\r");
    await collector.idle();
    expect(await collector.store.count()).toBe(1200);
    // The first stored reading is the data set's first row of P01 (temperature 36.8 °C).
    const page = await collector.get(`/v1/readings?limit=1`);
    expect(page.status).toBe(200);
    const body = (await page.json()) as { readings: Record<string, unknown>[] };
    expect(body.readings[0]).toMatchObject({ index: 0, heartRateBpm: 78, temperatureCentiC: 3680 });
    // The collector keeps no rotated-away key: after its drain (5 s by default) it holds one
    // session with the device, in memory and in its store.
    const deviceId = body.readings[0]!.deviceId as string;
    await waitUntil(
      async () =>
        (await collector.device.status()).sessions.filter((x) => x.peerId === deviceId).length === 1,
      "the collector retiring the rotated-away sessions",
      20_000,
    );
  }, 120_000);

  it("delivers 10,000 readings across at least three rotations as exactly 10,000 new rows", async () => {
    const before = await collector.store.count();
    const r = await publish(
      [
        "--to",
        collector.deviceId,
        "--dataset",
        DATASET,
        "--loop",
        "--count",
        "10000",
        "--batch",
        "100",
        "--rotate-after-messages",
        "30",
        "--rotation-drain-ms",
        "500",
        "--quiet",
      ],
      // The collector stores a few hundred readings per second on a loaded 2-core machine.
      240_000,
    );
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout.trim().split("\n").pop() as string);
    expect(summary).toMatchObject({ sent: 10_000, acknowledged: 10_000 });
    expect(summary.rotations).toBeGreaterThanOrEqual(3);
    expect(r.stderr).toBe("");
    await collector.idle();
    expect((await collector.store.count()) - before).toBe(10_000);
  }, 300_000);

  it("refuses a bad data set before sending anything (exit 2, line and column named)", async () => {
    const dir = mkdtempSync(join(head.dir, "dataset-"));
    dirs.push(dir);
    const bad = join(dir, "bad.csv");
    writeFileSync(bad, "device_time_ms,heart_rate_bpm\n1767254400000,80\n");
    const before = await collector.store.count();
    const r = await publish(["--to", collector.deviceId, "--dataset", bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/E_BAD_ARGUMENT: --dataset .*bad\.csv line 1: missing column\(s\) spo2_percent/);
    expect(await collector.store.count()).toBe(before);
  });

  it("exits 1 with E_PEER_TIMEOUT when the peer never acknowledges, after its summary", async () => {
    const r = await publish([
      "--to",
      silent.deviceId,
      "--dataset",
      DATASET,
      "--count",
      "20",
      "--ack-timeout",
      "300",
      "--timeout",
      "1500",
    ]);
    expect(r.code).toBe(1);
    const summary = JSON.parse(r.stdout.trim().split("\n").pop() as string);
    expect(summary).toMatchObject({ sent: 20, acknowledged: 0 });
    expect(summary.resent).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/E_PEER_TIMEOUT: 20 of 20 readings not acknowledged/);
  }, 60_000);
});
