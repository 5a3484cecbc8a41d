/** The compiled DeviceRegistry (ABI and bytecode) from Hardhat's artifacts folder. */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { JsonFragment } from "ethers";
import { abiSchema } from "./deployment-file";

export interface RegistryArtifact {
  abi: JsonFragment[];
  bytecode: string;
}

/** Where `hardhat compile` writes the DeviceRegistry artifact. */
export const REGISTRY_ARTIFACT_PATH = resolve(
  __dirname,
  "../artifacts/contracts/DeviceRegistry.sol/DeviceRegistry.json",
);

/**
 * Loads the compiled DeviceRegistry.
 * @throws Error naming `npm run compile` when the artifact is missing.
 */
export function loadRegistryArtifact(path = REGISTRY_ARTIFACT_PATH): RegistryArtifact {
  let json: { abi?: unknown; bytecode?: unknown };
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch {
    throw new Error(`DeviceRegistry artifact not found at ${path}: run \`npm run compile\` first`);
  }
  const abi = abiSchema.safeParse(json.abi);
  if (!abi.success || typeof json.bytecode !== "string" || json.bytecode.length < 4) {
    throw new Error(`DeviceRegistry artifact at ${path} is incomplete: run \`npm run compile\``);
  }
  return { abi: abi.data, bytecode: json.bytecode };
}
