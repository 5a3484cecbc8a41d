/** Where the CLI reads the head from (device/cli/context.ts `registryOf`): flags, environment, defaults. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_RPC_URL, DEPLOYMENT_ENV, registryOf, RPC_URL_ENV } from "../../../device/cli/context";
import { type Deployment, writeDeployment } from "../../../chain/deployment-file";

const REGISTRY = `0x${"5f".repeat(20)}`;
const deployment: Deployment = {
  contract: "DeviceRegistry",
  network: "localhost",
  chainId: 31337,
  address: REGISTRY,
  deployer: `0x${"f3".repeat(20)}`,
  transactionHash: `0x${"11".repeat(32)}`,
  blockNumber: 1,
  blockHash: `0x${"22".repeat(32)}`,
  deployedAt: "2026-01-01T00:00:00.000Z",
  abi: [{}],
};

describe("registryOf", () => {
  let dir: string;
  const saved = { rpc: process.env[RPC_URL_ENV], deployment: process.env[DEPLOYMENT_ENV] };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "iotguard-cli-context-"));
    delete process.env[RPC_URL_ENV];
    delete process.env[DEPLOYMENT_ENV];
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    for (const [name, value] of [
      [RPC_URL_ENV, saved.rpc],
      [DEPLOYMENT_ENV, saved.deployment],
    ] as const)
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
  });

  it("takes --registry with the default or given RPC URL", () => {
    expect(registryOf({ registry: REGISTRY })).toEqual({ rpcUrl: DEFAULT_RPC_URL, address: REGISTRY });
    process.env[RPC_URL_ENV] = "http://chain.example:8545";
    expect(registryOf({ registry: REGISTRY })).toEqual({
      rpcUrl: "http://chain.example:8545",
      address: REGISTRY,
    });
    expect(registryOf({ registry: REGISTRY, rpcUrl: "http://x:1" })?.rpcUrl).toBe("http://x:1");
  });

  it("reads the address and chain ID from --deployment or $IOTGUARD_DEPLOYMENT", () => {
    const file = join(dir, "localhost.json");
    writeDeployment(file, deployment);
    expect(registryOf({ deployment: file })).toEqual({
      rpcUrl: DEFAULT_RPC_URL,
      address: REGISTRY,
      chainId: 31337,
    });
    process.env[DEPLOYMENT_ENV] = file;
    expect(registryOf({ rpcUrl: "http://x:1" })).toEqual({
      rpcUrl: "http://x:1",
      address: REGISTRY,
      chainId: 31337,
    });
    // A deployment named in the environment is also read when --head-address is given (both must agree).
    expect(registryOf({ headAddress: REGISTRY })?.address).toBe(REGISTRY);
  });

  it("refuses a named deployment file that is missing or invalid", () => {
    expect(() => registryOf({ deployment: join(dir, "missing.json") })).toThrow(
      expect.objectContaining({ code: "E_BAD_ARGUMENT", message: expect.stringContaining("npm run deploy") }),
    );
    process.env[DEPLOYMENT_ENV] = join(dir, "missing.json");
    expect(() => registryOf({})).toThrow(expect.objectContaining({ code: "E_BAD_ARGUMENT" }));
  });

  it("with only --head-address reads no default deployment: the operator's address is the anchor", () => {
    expect(registryOf({ headAddress: REGISTRY })).toBeUndefined();
  });
});
