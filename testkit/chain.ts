/** A real `hardhat node` with a freshly deployed DeviceRegistry, for integration tests. */
import { NonceManager, Wallet } from "ethers";
import { deployRegistry } from "../chain/deploy-registry";
import type { Deployment } from "../chain/deployment-file";
import { HARDHAT_DEV_ACCOUNT_0_KEY } from "../chain/local-development";
import { type LocalNode, startLocalNode } from "../chain/local-node";
import { connectRegistry, makeProvider } from "../chain/registry-contract";

export interface TestChain {
  node: LocalNode;
  provider: ReturnType<typeof makeProvider>;
  admin: NonceManager;
  deployment: Deployment;
  /** Sends ETH from the admin to `address` so it can pay for transactions. */
  fund(address: string, ether?: bigint): Promise<void>;
  /** Remembers the chain as it is now (`evm_snapshot`), for {@link TestChain.revert}. */
  snapshot(): Promise<string>;
  /** Drops every block after `snapshot` (`evm_revert`): with new blocks mined after it, a reorganisation. */
  revert(snapshot: string): Promise<void>;
  /** Mines `blocks` empty blocks. */
  mine(blocks?: number): Promise<void>;
  /** The chain's height. */
  height(): Promise<number>;
  stop(): Promise<void>;
}

export interface TestChainOptions {
  port?: number;
  /**
   * Mine a block every `blockIntervalMs` instead of one per transaction, as a real network does
   * (`evm_setAutomine false` + `evm_setIntervalMining`); the registry is deployed before.
   */
  blockIntervalMs?: number;
}

export async function startTestChain(options: TestChainOptions = {}): Promise<TestChain> {
  const node = await startLocalNode(options.port === undefined ? {} : { port: options.port });
  const provider = makeProvider(node.url, 100);
  const admin = new NonceManager(new Wallet(HARDHAT_DEV_ACCOUNT_0_KEY, provider));
  const deployment = await deployRegistry(admin, "localhost");
  if (options.blockIntervalMs !== undefined) {
    await provider.send("evm_setAutomine", [false]);
    await provider.send("evm_setIntervalMining", [options.blockIntervalMs]);
  }
  return {
    node,
    provider,
    admin,
    deployment,
    async fund(address, ether = 10n ** 19n) {
      await (await admin.sendTransaction({ to: address, value: ether })).wait();
    },
    snapshot: () => provider.send("evm_snapshot", []),
    async revert(snapshot) {
      if (!(await provider.send("evm_revert", [snapshot]))) throw new Error(`no snapshot ${snapshot}`);
      // The admin's next nonce may belong to a dropped block.
      admin.reset();
    },
    async mine(blocks = 1) {
      // One evm_mine per block: hardhat_mine reserves the blocks between its first and last, and
      // those report a zero parentHash, which a follower checking the hash chain rightly refuses.
      for (let i = 0; i < blocks; i++) await provider.send("evm_mine", []);
    },
    height: () => provider.getBlockNumber(),
    async stop() {
      provider.destroy();
      await node.stop();
    },
  };
}

/** The registry as the chain admin sees it. */
export function adminRegistry(chain: TestChain) {
  return connectRegistry(chain.deployment, chain.admin);
}
