/**
 * The deployment file written by `npm run deploy` and read by the cluster head: where the
 * DeviceRegistry lives and how to recognise that chain again (chain ID, deployment block hash).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { JsonFragment } from "ethers";
import { z } from "zod";
import { packageRoot } from "../platform/package-root";

const hexAddress = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "a 20-byte 0x address");
const hexHash = z.string().regex(/^0x[0-9a-fA-F]{64}$/, "a 32-byte 0x hash");
/** A JSON ABI: entries ethers' Interface reads (it checks each entry's shape when it parses them). */
export const abiSchema = z
  .array(
    z.custom<JsonFragment>(
      (entry) => typeof entry === "object" && entry !== null && !Array.isArray(entry),
      "an ABI entry",
    ),
  )
  .min(1);

/** Schema of `deployments/<network>.json`; it is also the type. */
export const deploymentSchema = z.object({
  contract: z.literal("DeviceRegistry"),
  network: z.string().min(1),
  chainId: z.number().int().positive(),
  address: hexAddress,
  deployer: hexAddress,
  transactionHash: hexHash,
  blockNumber: z.number().int().nonnegative(),
  blockHash: hexHash,
  deployedAt: z.string(),
  abi: abiSchema,
});
export type Deployment = z.infer<typeof deploymentSchema>;

/** The default folder for deployment files, at the repository root (also from the build output in dist/). */
export const DEFAULT_DEPLOYMENTS_DIR = join(packageRoot(__dirname, resolve(__dirname, "..")), "deployments");

/** Thrown when a deployment file is missing or does not match its schema. */
export class DeploymentFileError extends Error {
  readonly code = "E_DEPLOYMENT_FILE";
  constructor(message: string) {
    super(message);
    this.name = "DeploymentFileError";
  }
}

/** The path of the deployment file for `network` in `dir`. */
export function deploymentPath(network: string, dir = DEFAULT_DEPLOYMENTS_DIR): string {
  if (!/^[A-Za-z0-9_-]+$/.test(network)) throw new DeploymentFileError(`invalid network name: ${network}`);
  return join(dir, `${network}.json`);
}

/**
 * Reads and validates a deployment file.
 * @returns the deployment, or `undefined` when the file does not exist.
 * @throws DeploymentFileError when it exists but is not valid.
 */
export function readDeployment(path: string): Deployment | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new DeploymentFileError(`${path} is not JSON`);
  }
  const parsed = deploymentSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DeploymentFileError(`${path}: ${issue?.path.join(".") || "(root)"}: ${issue?.message}`);
  }
  return parsed.data;
}

/** Writes a deployment file atomically (temp file + rename), so a crash never leaves half a file. */
export function writeDeployment(path: string, deployment: Deployment): void {
  const valid = deploymentSchema.parse(deployment);
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(valid, null, 2)}\n`);
  renameSync(temp, path);
}
