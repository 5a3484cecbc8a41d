/**
 * The pinned cluster head: its address (read from the chain, or given by the operator), cluster,
 * REST URL, broker URL and topic prefix. `finishJoin` verifies the head's signature against the
 * pinned address, so a different head, or a man in the middle, cannot answer a join.
 */
import type { DeviceDatabase } from "./database";

/** Where a pinned head address came from. */
export type HeadSource = "chain" | "configured" | "first-use";

/** What the device knows about its head. Not secret. */
export interface HeadPin {
  /** 0x-prefixed lowercase address. */
  headAddress: string;
  clusterId: number;
  headUrl: string;
  brokerUrl: string;
  topicPrefix: string;
  /**
   * How the address was learned: read from the registry on chain, given by the operator
   * (`--head-address`), or (version 0.1 only, no longer trusted) from `/health` on first use.
   */
  source: HeadSource;
  pinnedAt: number;
  /** PEM of the CA (or self-signed certificate) pinned for the head's `https:` URL, when one was given. */
  headCa?: string;
}

const KEY = "head";

export class HeadPinStore {
  constructor(private readonly db: DeviceDatabase) {}

  get(): Promise<HeadPin | undefined> {
    return this.db.get<HeadPin>("meta", KEY);
  }

  put(pin: HeadPin): Promise<void> {
    return this.db.put("meta", KEY, pin);
  }
}
