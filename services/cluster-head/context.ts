/** What the use cases of one cluster head share: configuration, stores, chain, identity, clock. */
import type { EventEmitter } from "node:events";
import type { Logger } from "pino";
import type { Identity, RandomSource } from "../../protocol";
import type { BrokerAccess } from "./broker/broker-access";
import type { GrantDelivery } from "./broker/grant-delivery";
import type { ChainIndexFollower } from "./chain/index-follower";
import type { DeviceRegistry } from "../../chain/registry-contract";
import type { HeadConfig } from "./config";
import type { MemberMacKeyCache } from "./member-mac-keys";
import type { HeadMetrics } from "./metrics";
import type { AuditStore } from "./stores/audit-store";
import type { ChallengeStore } from "./stores/challenge-store";
import type { HeadDatabase } from "./stores/database";
import type { MemberStore } from "./stores/member-store";
import type { PendingTransactionsStore } from "./stores/pending-transactions-store";
import type { RegistryIndexStore } from "./stores/registry-index-store";
import type { SessionStore } from "./stores/session-store";
import type { EndReason } from "./use-cases/membership-standing";
import type { OperatorRegistry } from "./use-cases/operators";

/** Things the head tells its transports (MQTT) about. */
export interface HeadEvents {
  /** A device's membership and sessions ended (revoked, re-keyed or moved on chain): tell its peers, disconnect it. */
  revoked: [{ deviceId: string; peers: string[]; reason: EndReason }];
  /** A session request was refused; the forwarding member is warned. */
  warning: [{ toDeviceId: string; message: Uint8Array; reason: string }];
  /** A grant was issued; each member gets its sealed copy. */
  granted: [{ sessionId: string; initiator: string; responder: string }];
}

export interface HeadContext {
  config: HeadConfig;
  logger: Logger;
  metrics: HeadMetrics;
  database: HeadDatabase;
  index: RegistryIndexStore;
  members: MemberStore;
  /** The grant's MAC keys of current members, derived once per membership and wiped at its end. */
  macKeys: MemberMacKeyCache;
  challenges: ChallengeStore;
  sessions: SessionStore;
  audit: AuditStore;
  /** Named operators and the bootstrap one: authentication and accounts. */
  operators: OperatorRegistry;
  follower: ChainIndexFollower;
  /** Registry transactions the head sent that its index does not hold yet (pending confirmations). */
  pending: PendingTransactionsStore;
  /** The registry, connected to the head's own key (the cluster head identity on chain). */
  registry: DeviceRegistry;
  identity: Identity;
  /** Unix milliseconds. */
  now: () => number;
  random: RandomSource;
  events: EventEmitter<HeadEvents>;
  /**
   * What the broker must be told at join, grant and end: nothing for the embedded broker (it asks
   * live), client and ACL changes for an administered Mosquitto (set when MQTT starts).
   */
  brokerAccess: BrokerAccess;
  /**
   * Publishes an initiator's Grant to the initiator itself (set when MQTT starts); undefined before
   * that and after it stopped, when M2 relays every initiator Grant.
   */
  grantDelivery?: GrantDelivery;
}
