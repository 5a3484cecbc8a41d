import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { JsonRpcProvider } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkDeployment } from "../../chain/deploy-registry";
import { DeploymentFileError, deploymentPath, readDeployment } from "../../chain/deployment-file";
import { type LocalNode, startLocalNode } from "../../chain/local-node";

const run = promisify(execFile);
const ROOT = resolve(__dirname, "../..");

describe("npm run deploy (scripts/deploy.ts) against a real hardhat node", () => {
  let node: LocalNode;
  let dir: string;

  beforeAll(async () => {
    node = await startLocalNode();
    dir = mkdtempSync(join(tmpdir(), "iotguard-deploy-"));
  }, 60_000);
  afterAll(async () => {
    await node?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const deploy = (...args: string[]) =>
    run(process.execPath, ["--import", "tsx", "scripts/deploy.ts", "--deployments", dir, ...args], {
      cwd: ROOT,
      env: { ...process.env, HARDHAT_NETWORK: "", IOTGUARD_LOCAL_RPC_URL: node.url },
    });

  it("deploys, refuses to deploy twice without --force, redeploys with it", async () => {
    const first = await deploy();
    expect(first.stdout).toMatch(/DeviceRegistry deployed on localhost \(chain 31337\) at 0x[0-9a-fA-F]{40}/);
    const path = deploymentPath("localhost", dir);
    const deployment = readDeployment(path)!;
    expect(deployment.chainId).toBe(31337);
    expect(deployment.abi.length).toBeGreaterThan(10);
    const provider = new JsonRpcProvider(node.url, undefined, { cacheTimeout: -1, batchMaxCount: 1 });
    expect(await checkDeployment(provider, deployment)).toEqual({ live: true });

    const second = await deploy();
    expect(second.stdout).toContain("already deployed");
    expect(readDeployment(path)!.address).toBe(deployment.address);

    const forced = await deploy("--force");
    expect(forced.stdout).toContain("DeviceRegistry deployed");
    const redeployed = readDeployment(path)!;
    expect(redeployed.address).not.toBe(deployment.address);

    // A recorded deployment whose block hash no longer matches is stale: the chain was reset.
    const stale = { ...redeployed, blockHash: `0x${"ab".repeat(32)}` };
    expect(await checkDeployment(provider, stale)).toMatchObject({
      live: false,
      reason: "block-hash-mismatch",
    });
    expect(await checkDeployment(provider, { ...redeployed, chainId: 1 })).toMatchObject({
      live: false,
      reason: "chain-id-mismatch",
    });
    expect(await checkDeployment(provider, { ...redeployed, address: `0x${"12".repeat(20)}` })).toMatchObject(
      { live: false, reason: "no-code" },
    );
    provider.destroy();
  }, 120_000);

  it("fails with a hint to start the chain when the node is unreachable", async () => {
    const error = await run(
      process.execPath,
      ["--import", "tsx", "scripts/deploy.ts", "--deployments", dir],
      {
        cwd: ROOT,
        env: { ...process.env, HARDHAT_NETWORK: "", IOTGUARD_LOCAL_RPC_URL: "http://127.0.0.1:9" },
      },
    ).catch((e: { code: number; stderr: string }) => e);
    expect((error as { code: number }).code).toBe(1);
    expect((error as { stderr: string }).stderr).toContain("npm run chain");
  }, 60_000);
});

describe("deployment file", () => {
  it("rejects files that do not match the schema, naming the field", () => {
    const dir = mkdtempSync(join(tmpdir(), "iotguard-depfile-"));
    const path = join(dir, "x.json");
    writeFileSync(path, "{not json");
    expect(() => readDeployment(path)).toThrow(DeploymentFileError);
    writeFileSync(
      path,
      JSON.stringify({ contract: "DeviceRegistry", network: "x", chainId: 1, address: "0x12" }),
    );
    expect(() => readDeployment(path)).toThrow(/address/);
    expect(readDeployment(join(dir, "missing.json"))).toBeUndefined();
    expect(() => deploymentPath("../etc")).toThrow(DeploymentFileError);
    rmSync(dir, { recursive: true, force: true });
  });
});
