/**
 * `npm run deploy [-- --network NAME] [--force] [--deployments DIR]`
 *
 * Deploys the DeviceRegistry to a network of hardhat.config.ts (default: the local node that
 * `npm run chain` starts) and writes `deployments/<network>.json` for the cluster head. When that
 * file already names a live registry on the same chain, it says so and does nothing unless
 * `--force` is given.
 */
import { Command } from "commander";
import { checkDeployment, deployRegistry } from "../chain/deploy-registry";
import {
  DEFAULT_DEPLOYMENTS_DIR,
  deploymentPath,
  readDeployment,
  writeDeployment,
} from "../chain/deployment-file";

interface DeployOptions {
  network: string;
  force: boolean;
  deployments: string;
}

async function main(options: DeployOptions): Promise<number> {
  process.env.HARDHAT_NETWORK = options.network;
  // Loaded after HARDHAT_NETWORK is set: Hardhat picks the network when it first loads.
  const hre = require("hardhat") as typeof import("hardhat");
  await hre.run("compile", { quiet: true });
  const path = deploymentPath(options.network, options.deployments);

  let signer: Awaited<ReturnType<typeof hre.ethers.getSigners>>[number] | undefined;
  try {
    [signer] = await hre.ethers.getSigners();
    await hre.ethers.provider.getBlockNumber();
  } catch (error) {
    const url = "url" in hre.network.config ? hre.network.config.url : "(in-process)";
    console.error(
      `cannot reach network "${options.network}" at ${url}: ${(error as Error).message.split("\n")[0]}\n` +
        (options.network === "localhost" ? "start a local chain first with `npm run chain`" : ""),
    );
    return 1;
  }
  if (!signer) {
    console.error(`network "${options.network}" has no deployer account (set IOTGUARD_DEPLOYER_KEY)`);
    return 1;
  }
  if (options.network === "hardhat") {
    console.warn("note: the in-process hardhat network vanishes when this command exits");
  }

  const existing = readDeployment(path);
  if (existing) {
    const check = await checkDeployment(hre.ethers.provider, existing);
    if (check.live && !options.force) {
      console.log(
        `DeviceRegistry is already deployed on ${options.network} at ${existing.address} ` +
          `(block ${existing.blockNumber}); nothing to do. Use --force to deploy a new one.`,
      );
      return 0;
    }
    if (!check.live) console.log(`the deployment in ${path} is stale (${check.detail}); deploying a new one`);
  }

  const deployment = await deployRegistry(signer, options.network);
  writeDeployment(path, deployment);
  console.log(
    `DeviceRegistry deployed on ${options.network} (chain ${deployment.chainId}) at ${deployment.address}, ` +
      `block ${deployment.blockNumber}, by ${deployment.deployer}\nwrote ${path}`,
  );
  return 0;
}

const program = new Command()
  .name("deploy")
  .description("Deploy the DeviceRegistry and write deployments/<network>.json")
  .option("--network <name>", "a network from hardhat.config.ts", "localhost")
  .option("--force", "deploy a new registry even if a live one is recorded", false)
  .option("--deployments <dir>", "where deployment files live", DEFAULT_DEPLOYMENTS_DIR)
  .action(async (options: DeployOptions) => {
    process.exitCode = await main(options);
  });

program.parseAsync().catch((error: Error) => {
  console.error(`deploy failed: ${error.message}`);
  process.exitCode = 1;
});
