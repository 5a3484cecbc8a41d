/**
 * Connecting to the DeviceRegistry named by a deployment file. The ABI comes from the deployment
 * file, so the cluster head needs no build step at run time; the types come from typechain.
 */
import { type BaseContract, Contract, type ContractRunner, JsonRpcProvider } from "ethers";
import type { Deployment } from "./deployment-file";
import type { DeviceRegistry } from "../typechain-types";

export type { DeviceRegistry };

/**
 * A JSON-RPC provider tuned for a single local node: no response cache and no batching, which
 * avoids "nonce too low" races against `hardhat node` (see TOOLCHAIN.md).
 */
export function makeProvider(url: string, pollingIntervalMs = 250): JsonRpcProvider {
  const provider = new JsonRpcProvider(url, undefined, {
    cacheTimeout: -1,
    batchMaxCount: 1,
    staticNetwork: false,
  });
  provider.pollingInterval = pollingIntervalMs;
  return provider;
}

/** The registry of `deployment`, connected to `runner` (a provider to read, a signer to write). */
export function connectRegistry(deployment: Deployment, runner: ContractRunner): DeviceRegistry {
  // The typechain type describes the compiled contract; the ABI comes from the deployment file at
  // run time (no artifacts needed). Deploying writes the compiled ABI there, so the two agree.
  return new Contract(deployment.address, deployment.abi, runner) as BaseContract as DeviceRegistry;
}
