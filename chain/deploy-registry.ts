/**
 * Deploying the DeviceRegistry and recognising a live deployment. Used by `npm run deploy` and by
 * `npm start`, so the story deploys with the same code a user runs.
 */
import { ContractFactory, type Provider, type Signer } from "ethers";
import type { Deployment } from "./deployment-file";
import { loadRegistryArtifact, type RegistryArtifact } from "./registry-artifact";

/** Why a recorded deployment is not (or no longer) the registry on this chain. */
export type DeploymentCheck =
  | { live: true }
  | { live: false; reason: "chain-id-mismatch" | "no-code" | "block-hash-mismatch"; detail: string };

/**
 * Checks that `deployment` describes a registry that exists on the chain behind `provider`:
 * same chain ID, code at the address, and the same hash for the deployment block (a chain that
 * was reset and re-mined gives a different hash even at the same height).
 */
export async function checkDeployment(provider: Provider, deployment: Deployment): Promise<DeploymentCheck> {
  const network = await provider.getNetwork();
  if (Number(network.chainId) !== deployment.chainId) {
    return {
      live: false,
      reason: "chain-id-mismatch",
      detail: `chain ID is ${network.chainId}, the deployment file says ${deployment.chainId}`,
    };
  }
  const code = await provider.getCode(deployment.address);
  if (code === "0x") {
    return { live: false, reason: "no-code", detail: `no contract code at ${deployment.address}` };
  }
  const block = await provider.getBlock(deployment.blockNumber);
  if (!block || block.hash !== deployment.blockHash) {
    return {
      live: false,
      reason: "block-hash-mismatch",
      detail: `block ${deployment.blockNumber} has hash ${block?.hash ?? "(none)"}, the deployment file says ${deployment.blockHash}`,
    };
  }
  return { live: true };
}

/**
 * Deploys a fresh DeviceRegistry from `signer` and waits for its receipt.
 * @returns the deployment record to write to the deployment file.
 */
export async function deployRegistry(
  signer: Signer,
  networkName: string,
  artifact: RegistryArtifact = loadRegistryArtifact(),
): Promise<Deployment> {
  const provider = signer.provider;
  if (!provider) throw new Error("the deployer signer has no provider");
  const factory = new ContractFactory(artifact.abi, artifact.bytecode, signer);
  const contract = await factory.deploy();
  const tx = contract.deploymentTransaction();
  if (!tx) throw new Error("deployment transaction missing");
  const receipt = await tx.wait();
  if (receipt?.status !== 1) throw new Error(`deployment transaction ${tx.hash} failed`);
  const network = await provider.getNetwork();
  return {
    contract: "DeviceRegistry",
    network: networkName,
    chainId: Number(network.chainId),
    address: await contract.getAddress(),
    deployer: await signer.getAddress(),
    transactionHash: receipt.hash,
    blockNumber: receipt.blockNumber,
    blockHash: receipt.blockHash,
    deployedAt: new Date().toISOString(),
    abi: artifact.abi,
  };
}
