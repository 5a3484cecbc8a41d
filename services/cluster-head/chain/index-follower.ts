/**
 * Keeps the head's registry index in step with the chain: rebuilds it from the deployment block on
 * first start, resumes from the last indexed block after a restart, then follows new blocks.
 * It refuses to serve from an index that no longer matches the chain (a reset node, a reorg deeper
 * than the confirmation depth, a data directory of another deployment).
 */
import { EventEmitter } from "node:events";
import { Interface, type Provider } from "ethers";
import { checkDeployment } from "../../../chain/deploy-registry";
import type { Deployment } from "../../../chain/deployment-file";
import type { IndexChange, RegistryIndexStore } from "../stores/registry-index-store";
import { decodeRegistryLog, type RegistryEvent } from "../../../chain/registry-events";

export type FollowerState = "stopped" | "syncing" | "live" | "halted";

export interface FollowerStatus {
  state: FollowerState;
  indexedBlock: number | undefined;
  chainHead: number | undefined;
  lagBlocks: number | undefined;
  haltReason?: string;
}

/** The chain behind the RPC is not the one the deployment file or the index describes. */
export class ChainMismatchError extends Error {
  readonly code = "E_CHAIN_MISMATCH";
  constructor(message: string) {
    super(message);
    this.name = "ChainMismatchError";
  }
}

export interface FollowerOptions {
  provider: Provider;
  deployment: Deployment;
  store: RegistryIndexStore;
  /** Blocks to wait before indexing a block (0 on a local chain). */
  confirmations: number;
  pollIntervalMs: number;
  /** Blocks per eth_getLogs call. */
  chunkSize?: number;
  onError?: (error: Error) => void;
}

interface FollowerEvents {
  changes: [IndexChange[]];
  halted: [string];
  synced: [number];
}

export class ChainIndexFollower extends EventEmitter<FollowerEvents> {
  private state: FollowerState = "stopped";
  private chainHead: number | undefined;
  private indexedBlock: number | undefined;
  private haltReason: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly iface: Interface;
  private changeHandler: ((changes: IndexChange[]) => Promise<void>) | undefined;

  constructor(private readonly options: FollowerOptions) {
    super();
    this.iface = new Interface(options.deployment.abi);
  }

  /**
   * Sets what must happen to the head's state for each batch of index changes. The follower awaits
   * it before indexing further blocks (and before `start()` resolves), so nothing is served from an
   * index whose consequences were not applied. Set it before {@link start}.
   */
  onChanges(handler: (changes: IndexChange[]) => Promise<void>): void {
    this.changeHandler = handler;
  }

  /**
   * Resolves once the index holds block `blockNumber` (and its changes are applied), so that an
   * answer about a transaction mined there is never older than the transaction.
   * @throws ChainMismatchError when the follower halts meanwhile
   */
  async waitForIndexed(blockNumber: number): Promise<void> {
    for (;;) {
      await this.syncOnce();
      if (this.state === "halted") throw new ChainMismatchError(this.haltReason ?? "index halted");
      if (this.state === "stopped") throw new ChainMismatchError("the index follower is stopped");
      if (this.indexedBlock !== undefined && this.indexedBlock >= blockNumber) return;
      // Not mined deep enough for the confirmation depth yet: wait for the next block.
      await new Promise((resolve) => setTimeout(resolve, this.options.pollIntervalMs));
    }
  }

  /**
   * Checks that the chain is the deployment's and the index is this chain's, catches up, and
   * starts following.
   * @throws ChainMismatchError when the chain was reset or the data directory belongs elsewhere.
   */
  async start(): Promise<void> {
    const { provider, deployment, store } = this.options;
    const check = await checkDeployment(provider, deployment);
    if (!check.live) {
      throw new ChainMismatchError(
        `the chain does not hold the registry of the deployment file (${check.detail}); ` +
          "was the chain reset? Redeploy with `npm run deploy` and start the head with a fresh data directory",
      );
    }
    const identity = {
      chainId: deployment.chainId,
      address: deployment.address.toLowerCase(),
      deploymentBlockHash: deployment.blockHash,
    };
    const stored = await store.identity();
    if (!stored) await store.setIdentity(identity);
    else if (
      stored.chainId !== identity.chainId ||
      stored.address !== identity.address ||
      stored.deploymentBlockHash !== identity.deploymentBlockHash
    ) {
      throw new ChainMismatchError(
        `the data directory indexes registry ${stored.address} on chain ${stored.chainId}, ` +
          `not ${identity.address} on chain ${identity.chainId}; use another data directory`,
      );
    }
    const cursor = await store.cursor();
    this.indexedBlock = cursor?.blockNumber;
    this.state = "syncing";
    await this.syncOnce();
    if ((this.state as FollowerState) === "halted")
      throw new ChainMismatchError(this.haltReason ?? "index halted");
    this.state = "live";
    this.schedule();
  }

  /** Stops following; an in-flight sync finishes first. */
  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.state !== "halted") this.state = "stopped";
    await this.running;
  }

  status(): FollowerStatus {
    const lag =
      this.chainHead !== undefined && this.indexedBlock !== undefined
        ? Math.max(0, this.chainHead - this.indexedBlock)
        : undefined;
    return {
      state: this.state,
      indexedBlock: this.indexedBlock,
      chainHead: this.chainHead,
      lagBlocks: lag,
      ...(this.haltReason ? { haltReason: this.haltReason } : {}),
    };
  }

  /** Whether the index may be trusted to answer requests now. */
  get serving(): boolean {
    return this.state === "live";
  }

  /** Indexes every confirmed block not yet indexed. Safe to call at any time; calls never overlap. */
  async syncOnce(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.sync().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async sync(): Promise<void> {
    const { provider, deployment, store, confirmations } = this.options;
    const chunkSize = this.options.chunkSize ?? 2000;
    const head = await provider.getBlockNumber();
    this.chainHead = head;
    const cursor = await store.cursor();
    if (cursor) {
      if (head < cursor.blockNumber)
        return this.halt(
          `the chain's height ${head} is below the indexed block ${cursor.blockNumber}: the chain was reset`,
        );
      const block = await provider.getBlock(cursor.blockNumber);
      if (!block || block.hash !== cursor.blockHash) {
        return this.halt(
          `block ${cursor.blockNumber} changed hash since it was indexed: the chain was reset or reorganised deeper than ${confirmations} confirmations`,
        );
      }
    }
    const target = head - confirmations;
    let from = cursor ? cursor.blockNumber + 1 : deployment.blockNumber;
    while (from <= target) {
      const to = Math.min(target, from + chunkSize - 1);
      const logs = await provider.getLogs({ address: deployment.address, fromBlock: from, toBlock: to });
      const events = logs
        .map((log) => decodeRegistryLog(this.iface, log))
        .filter((event): event is RegistryEvent => event !== undefined)
        .sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex);
      const block = await provider.getBlock(to);
      if (!block?.hash) return this.halt(`block ${to} is not available from the RPC`);
      const changes = await store.apply(events, { blockNumber: to, blockHash: block.hash });
      this.indexedBlock = to;
      if (changes.length > 0) {
        this.emit("changes", changes);
        await this.changeHandler?.(changes);
      }
      from = to + 1;
    }
    this.emit("synced", this.indexedBlock ?? deployment.blockNumber);
  }

  private halt(reason: string): void {
    this.state = "halted";
    this.haltReason = reason;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.emit("halted", reason);
  }

  private schedule(): void {
    if (this.state !== "live") return;
    this.timer = setTimeout(() => {
      this.syncOnce()
        .catch((error: unknown) =>
          this.options.onError?.(error instanceof Error ? error : new Error(String(error))),
        )
        .finally(() => this.schedule());
    }, this.options.pollIntervalMs);
  }
}
