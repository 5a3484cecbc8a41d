import "@nomicfoundation/hardhat-ethers";
import "@typechain/hardhat";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } from "hardhat/builtin-tasks/task-names";
import { type HardhatUserConfig, subtask } from "hardhat/config";

// The only network access here is the npm registry, so the compiler comes from the `solc`
// package instead of Hardhat's download (which fails with HH502).
const SOLC_VERSION: string = require("solc/package.json").version;

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args: { solcVersion: string }, _hre, runSuper) =>
  args.solcVersion === SOLC_VERSION
    ? {
        compilerPath: require.resolve("solc/soljson.js"),
        isSolcJs: true,
        version: SOLC_VERSION,
        longVersion: require("solc").version(),
      }
    : runSuper(),
);

/** A remote EVM network whose RPC URL and deployer key come from the environment. */
function remoteNetwork() {
  const url = process.env.IOTGUARD_RPC_URL;
  const key = process.env.IOTGUARD_DEPLOYER_KEY;
  if (!url) return {};
  return { remote: { url, accounts: key ? [key] : [] } };
}

const config: HardhatUserConfig = {
  solidity: {
    version: SOLC_VERSION,
    settings: { optimizer: { enabled: true, runs: 10_000 }, evmVersion: "cancun" },
  },
  typechain: { outDir: "typechain-types", target: "ethers-v6" },
  networks: {
    hardhat: {},
    localhost: { url: process.env.IOTGUARD_LOCAL_RPC_URL ?? "http://127.0.0.1:8545" },
    ...remoteNetwork(),
  },
};

export default config;
