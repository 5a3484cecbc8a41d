/**
 * The `iotguard` CLI against a head serving HTTPS with a private CA: real CLI processes, a real
 * head and chain. Pinning the right CA works; another CA, or none, is refused before any request.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeDeployment } from "../../../chain/deployment-file";
import { startTestChain, type TestChain } from "../../../testkit/chain";
import { runCli } from "../../../testkit/cli";
import { startTestHead, type TestHead } from "../../../testkit/head";
import { makeTestPki, type TestPki } from "../../helpers/test-pki";

describe("the CLI against an HTTPS head", () => {
  const dir = mkdtempSync(join(tmpdir(), "iotguard-cli-tls-"));
  let chain: TestChain;
  let head: TestHead;
  let pki: TestPki;
  let tokenFile: string;
  let chainFlags: string[];
  const deviceDir = join(dir, "device");
  const requestFile = join(dir, "request.json");

  beforeAll(async () => {
    pki = makeTestPki(dir);
    chain = await startTestChain();
    head = await startTestHead(chain, { tlsCert: pki.headCert, tlsKey: pki.headKey });
    tokenFile = join(dir, "token");
    writeFileSync(tokenFile, `${head.adminToken}\n`, { mode: 0o600 });
    const deploymentFile = join(dir, "deployment.json");
    writeDeployment(deploymentFile, chain.deployment);
    chainFlags = ["--rpc-url", chain.node.url, "--deployment", deploymentFile];
    const init = await runCli(["device", "init", "--data-dir", deviceDir, "--json"]);
    expect(init.code, init.stderr).toBe(0);
    const request = await runCli([
      "device",
      "request",
      "--data-dir",
      deviceDir,
      "--cluster-id",
      "1",
      "--out",
      requestFile,
    ]);
    expect(request.code, request.stderr).toBe(0);
  }, 60_000);
  afterAll(async () => {
    await head?.destroy();
    await chain?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const enroll = (...extra: string[]) =>
    runCli([
      "operator",
      "enroll",
      "--head",
      head.url,
      "--token-file",
      tokenFile,
      "--request",
      requestFile,
      "--json",
      ...extra,
    ]);

  it("refuses a head whose certificate another CA issued, sending nothing (exit 3)", async () => {
    const refused = await enroll("--head-ca", pki.otherCaCert);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/certificate this device does not trust/);
    const { deviceId } = JSON.parse(readFileSync(requestFile, "utf8")) as { deviceId: string };
    expect(await head.context.index.getDevice(deviceId.replace(/^0x/, ""))).toBeUndefined();
  });

  it("refuses it without --head-ca too (the system's roots do not know a private CA)", async () => {
    const refused = await enroll();
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/--head-ca/);
  });

  it("refuses a --head-ca file that holds no certificate", async () => {
    const refused = await enroll("--head-ca", tokenFile);
    expect(refused.stderr).toMatch(/--head-ca .*no PEM certificate/);
    expect(refused.code).not.toBe(0);
  });

  it("enrolls and joins pinning the CA, and later commands reuse the pinned CA", async () => {
    const enrolled = await enroll("--head-ca", pki.caCert);
    expect(enrolled.code, enrolled.stderr).toBe(0);
    const joined = await runCli([
      "device",
      "join",
      "--data-dir",
      deviceDir,
      "--head",
      head.url,
      "--head-ca",
      pki.caCert,
      "--lat",
      "0.5",
      "--lon",
      "-0.3",
      "--json",
      ...chainFlags,
    ]);
    expect(joined.code, joined.stderr).toBe(0);
    expect(JSON.parse(joined.stdout.trim().split("\n").pop()!)).toMatchObject({ event: "joined" });
    // No --head and no --head-ca: the pinned head URL and CA are used.
    const again = await runCli([
      "device",
      "join",
      "--data-dir",
      deviceDir,
      "--lat",
      "0.5",
      "--lon",
      "-0.3",
      "--json",
      ...chainFlags,
    ]);
    expect(again.code, again.stderr).toBe(0);
  });
});
