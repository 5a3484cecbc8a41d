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
  stop(): Promise<void>;
}

export async function startTestChain(options: { port?: number } = {}): Promise<TestChain> {
  const node = await startLocalNode(options);
  const provider = makeProvider(node.url, 100);
  const admin = new NonceManager(new Wallet(HARDHAT_DEV_ACCOUNT_0_KEY, provider));
  const deployment = await deployRegistry(admin, "localhost");
  return {
    node,
    provider,
    admin,
    deployment,
    async fund(address, ether = 10n ** 19n) {
      await (await admin.sendTransaction({ to: address, value: ether })).wait();
    },
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
