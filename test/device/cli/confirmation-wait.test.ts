/**
 * `iotguard operator enroll` and `operator revoke` as real CLI processes against a head that waits
 * for 2 confirmations on an interval-mined chain: by default they return once the head's index
 * holds the transaction, printing progress lines meanwhile; `--no-wait` returns once it is mined.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestChain, type TestChain } from "../../../testkit/chain";
import { runCli } from "../../../testkit/cli";
import { makeTestDevice, startTestHead, type TestHead } from "../../../testkit/head";

describe("the CLI waits for the head's confirmations", () => {
  const dir = mkdtempSync(join(tmpdir(), "iotguard-cli-wait-"));
  let chain: TestChain;
  let head: TestHead;
  const tokenFile = join(dir, "admin-token");

  beforeAll(async () => {
    chain = await startTestChain({ blockIntervalMs: 1000 });
    head = await startTestHead(chain, { confirmations: "2", pollIntervalMs: "100" });
    writeFileSync(tokenFile, `${head.adminToken}\n`, { mode: 0o600 });
  }, 60_000);
  afterAll(async () => {
    await head?.destroy();
    await chain?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const operator = (...args: string[]) =>
    runCli(["operator", ...args, "--head", head.url, "--token-file", tokenFile]);
  function requestFile() {
    const device = makeTestDevice();
    const file = join(dir, `${device.deviceIdHex}.json`);
    writeFileSync(file, JSON.stringify(device.enrollBody(head.clusterId)));
    return { device, file };
  }

  it("enroll returns once the enrollment counts, with progress lines; revoke likewise", async () => {
    const { device, file } = requestFile();
    const enrolled = await operator("enroll", "--request", file);
    expect(enrolled.code, enrolled.stderr).toBe(0);
    expect(enrolled.stderr).toMatch(
      /^waiting for confirmations: tx 0x[0-9a-f]{64} in block \d+, [12] confirmation\(s\) left$/m,
    );
    expect(enrolled.stdout).toMatch(new RegExp(`^enrolled ${device.deviceIdHex} in block \\d+`));
    // The moment it returns, the head's index holds the device: it may join.
    expect(await head.context.index.getDevice(device.deviceIdHex)).toMatchObject({ status: "active" });

    const revoked = await operator("revoke", device.deviceIdHex, "--json");
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(JSON.parse(revoked.stdout)).toMatchObject({ event: "revoked", deviceId: device.deviceIdHex });
    expect(await head.context.index.getDevice(device.deviceIdHex)).toMatchObject({ status: "revoked" });
  }, 60_000);

  it("--no-wait returns once mined, saying how many confirmations are left", async () => {
    const { device, file } = requestFile();
    const sent = await operator("enroll", "--request", file, "--no-wait", "--json");
    expect(sent.code, sent.stderr).toBe(0);
    const line = JSON.parse(sent.stdout) as { event: string; pending: { confirmationsLeft: number } };
    expect(line).toMatchObject({ event: "enrollment-pending", pending: { action: "enroll" } });
    expect(line.pending.confirmationsLeft).toBeGreaterThan(0);
    expect(sent.stderr).not.toMatch(/waiting for confirmations/);
    expect(await head.context.index.getDevice(device.deviceIdHex)).toBeUndefined();
  }, 60_000);

  it("gives up after --wait-timeout with E_CONFIRMATION_TIMEOUT (exit 1), the enrollment still pending", async () => {
    const { file } = requestFile();
    const timedOut = await operator("enroll", "--request", file, "--wait-timeout", "0.2");
    expect(timedOut.code).toBe(1);
    expect(timedOut.stderr).toMatch(/E_CONFIRMATION_TIMEOUT/);
    expect(timedOut.stderr).toMatch(/still pending after 0\.2 s/);
  }, 60_000);
});
