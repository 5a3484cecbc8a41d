/**
 * Keeps the head's registry index in step with the chain: rebuilds it from the deployment block on
 * first start, resumes from the last indexed block after a restart, then follows new blocks.
 *
 * Reorganisations: only blocks `confirmations` deep are indexed, so a shallower reorg never reaches
 * the index. The hashes of the last `maxReorgDepth` indexed blocks are kept with the index, with the
 * records their events replaced; when the indexed tip no longer is the chain's block at that height
 * (or a new block's parent is not the indexed tip), the index is rewound to the newest remembered
 * block still on the chain (the common ancestor) and the new branch is indexed from there, as chain
 * indexers do. It refuses to serve from an index that no longer matches the chain (a reset node, a
 * reorg deeper than `maxReorgDepth`, a data directory of another deployment).
 */
import { EventEmitter } from "node:events";
import { Interface, type Provider } from "ethers";
import { checkDeployment } from "../../../chain/deploy-registry";
import type { Deployment } from "../../../chain/deployment-file";
import type { IndexChange, IndexCursor, RegistryIndexStore } from "../stores/registry-index-store";
import { decodeRegistryLog, type RegistryEvent } from "../../../chain/registry-events";

export type FollowerState = "stopped" | "syncing" | "live" | "halted";

/** One rewind of the index after a reorganisation. */
export interface ReorgInfo {
  /** Indexed blocks that left the chain (the indexed tip minus the common ancestor). */
  depth: number;
  /** The indexed tip before the rewind. */
  fromBlock: number;
  /** The common ancestor the index was rewound to. */
  ancestorBlock: number;
  /** Unix milliseconds. */
  at: number;
  /** How long the rewind and the replay of the new branch took. */
  durationMs: number;
}

export interface FollowerStatus {
  state: FollowerState;
  indexedBlock: number | undefined;
  chainHead: number | undefined;
  lagBlocks: number | undefined;
  haltReason?: string;
  /** Rewinds since start, and the last one. */
  reorgs: { count: number; last?: ReorgInfo };
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
  /** The deepest reorganisation of indexed blocks that is rewound; a deeper one halts (default 64). */
  maxReorgDepth?: number;
  pollIntervalMs: number;
  /** Blocks per eth_getLogs call. */
  chunkSize?: number;
  onError?: (error: Error) => void;
}

interface FollowerEvents {
  changes: [IndexChange[]];
  halted: [string];
  synced: [number];
  reorg: [ReorgInfo];
}

export const DEFAULT_MAX_REORG_DEPTH = 64;

export class ChainIndexFollower extends EventEmitter<FollowerEvents> {
  private state: FollowerState = "stopped";
  private chainHead: number | undefined;
  private indexedBlock: number | undefined;
  private haltReason: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly iface: Interface;
  private changeHandler: ((changes: IndexChange[]) => Promise<void>) | undefined;
  private reorgCount = 0;
  private lastReorg: ReorgInfo | undefined;
  /** What a rewind undid, delivered once the new branch is indexed (so a re-mined enrollment ends nothing). */
  private rewound: IndexChange[] = [];
  /** A rewind whose new branch is not indexed yet. */
  private rewinding: ReorgInfo | undefined;

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
      reorgs: { count: this.reorgCount, ...(this.lastReorg ? { last: this.lastReorg } : {}) },
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

  private get maxReorgDepth(): number {
    return this.options.maxReorgDepth ?? DEFAULT_MAX_REORG_DEPTH;
  }

  private async sync(): Promise<void> {
    const { provider, deployment, store, confirmations } = this.options;
    const chunkSize = this.options.chunkSize ?? 2000;
    let head = await provider.getBlockNumber();
    this.chainHead = head;
    let cursor = await store.cursor();
    if (cursor) {
      const block = head >= cursor.blockNumber ? await provider.getBlock(cursor.blockNumber) : null;
      if (block?.hash !== cursor.blockHash) {
        const ancestor = await this.rewind(cursor, head);
        if (!ancestor) return;
        cursor = ancestor;
        // The height read above may be the dropped branch's.
        this.chainHead = head = await provider.getBlockNumber();
      }
    }
    const target = head - confirmations;
    // Blocks from here on are remembered: a reorganisation within the bound may reach them.
    const rememberFrom = target - this.maxReorgDepth;
    let from = cursor ? cursor.blockNumber + 1 : deployment.blockNumber;
    let tipHash = cursor?.blockHash;
    while (from <= target) {
      const to = Math.min(target, from + chunkSize - 1);
      // Hashes first: a block that is gone (the chain got shorter meanwhile) ends the round here.
      const remembered = await this.blockHashes(Math.max(from, rememberFrom), to, from, tipHash);
      if (!remembered) return; // the chain moved while this chunk was read: the next round rewinds
      const logs = await provider.getLogs({ address: deployment.address, fromBlock: from, toBlock: to });
      const mismatch = logs.find(
        (log) => log.blockNumber >= rememberFrom && remembered.get(log.blockNumber) !== log.blockHash,
      );
      if (mismatch) return;
      const events = logs
        .map((log) => decodeRegistryLog(this.iface, log))
        .filter((event): event is RegistryEvent => event !== undefined)
        .sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex);
      const toHash = remembered.get(to) ?? (await provider.getBlock(to))?.hash;
      if (!toHash) return this.halt(`block ${to} is not available from the RPC`);
      const changes = await store.apply(
        events,
        { blockNumber: to, blockHash: toHash },
        {
          blocks: [...remembered].map(([blockNumber, blockHash]) => ({ blockNumber, blockHash })),
          forgetBelow: to - this.maxReorgDepth,
        },
      );
      this.indexedBlock = to;
      tipHash = toHash;
      if (changes.length > 0) {
        this.emit("changes", changes);
        await this.changeHandler?.(changes);
      }
      from = to + 1;
    }
    if (this.rewound.length > 0) {
      const rewound = this.rewound;
      this.emit("changes", rewound);
      await this.changeHandler?.(rewound);
      this.rewound = [];
    }
    if (this.rewinding) {
      // Counted once the new branch is indexed and its consequences applied.
      this.lastReorg = { ...this.rewinding, durationMs: Date.now() - this.rewinding.at };
      this.rewinding = undefined;
      this.reorgCount++;
      this.emit("reorg", this.lastReorg);
    }
    this.emit("synced", this.indexedBlock ?? deployment.blockNumber);
  }

  /**
   * The hashes of blocks `first`..`last`, checked to chain from one to the next and from the
   * indexed tip (`tipHash` at `chunkStart - 1`).
   * @returns undefined when they do not: a reorganisation happened while they were read
   */
  private async blockHashes(
    first: number,
    last: number,
    chunkStart: number,
    tipHash: string | undefined,
  ): Promise<Map<number, string> | undefined> {
    const hashes = new Map<number, string>();
    let parent = first === chunkStart ? tipHash : undefined;
    for (let n = first; n <= last; n++) {
      const block = await this.options.provider.getBlock(n);
      if (!block?.hash) return undefined;
      if (parent !== undefined && block.parentHash !== parent) return undefined;
      hashes.set(n, block.hash);
      parent = block.hash;
    }
    return hashes;
  }

  /**
   * The indexed tip left the chain: finds the newest remembered block still on it and rewinds
   * the index there, or halts when there is none within `maxReorgDepth` blocks.
   * @returns the common ancestor, or undefined after halting
   */
  private async rewind(cursor: IndexCursor, head: number): Promise<IndexCursor | undefined> {
    const { provider, store } = this.options;
    const bound = this.maxReorgDepth;
    for (const block of await store.recentBlocks()) {
      if (cursor.blockNumber - block.blockNumber > bound) break;
      if (block.blockNumber > head || block.blockNumber >= cursor.blockNumber) continue;
      if ((await provider.getBlock(block.blockNumber))?.hash !== block.blockHash) continue;
      const ancestor = { blockNumber: block.blockNumber, blockHash: block.blockHash };
      this.rewound.push(...(await store.rewind(ancestor)));
      this.indexedBlock = ancestor.blockNumber;
      this.rewinding = {
        depth: cursor.blockNumber - ancestor.blockNumber,
        fromBlock: cursor.blockNumber,
        ancestorBlock: ancestor.blockNumber,
        at: Date.now(),
        durationMs: 0,
      };
      return ancestor;
    }
    this.halt(
      head < cursor.blockNumber && cursor.blockNumber - head > bound
        ? `the chain's height ${head} is below the indexed block ${cursor.blockNumber}: the chain was reset`
        : `block ${cursor.blockNumber} changed hash since it was indexed and no indexed block within ` +
            `${bound} blocks (--max-reorg-depth) is still on the chain: the chain was reset or reorganised deeper than that`,
    );
    return undefined;
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
