/** Prometheus metrics of one head (its own registry, so two heads in one process stay apart). */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { JournalStats } from "../../platform/append-journal";
import type { WriteStats } from "../../platform/level-database";

export interface HeadMetrics {
  registry: Registry;
  requests: Counter<"route" | "method" | "status">;
  requestSeconds: Histogram<"route">;
  refusals: Counter<"code">;
  /** Requests refused by an abuse limit (http/limits.ts), by limit. */
  limitRefusals: Counter<"limit">;
  joins: Counter;
  grants: Counter;
  warnings: Counter<"reason">;
  /** Session set-up messages relayed from a device's set-up topic to a peer's inbox (request-relay.ts), by type. */
  setupRelayed: Counter<"type">;
  /** Set-up messages the relay dropped, by reason. */
  setupDropped: Counter<"reason">;
  /** Initiator Grants the head delivered itself (`direct`), or why M2 relayed instead (broker/grant-delivery.ts). */
  grantDeliveries: Counter<"outcome">;
  indexLag: Gauge;
  indexedBlock: Gauge;
  members: Gauge;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): HeadMetrics {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    requests: new Counter({
      name: "iotguard_http_requests_total",
      help: "HTTP requests by route, method and status",
      labelNames: ["route", "method", "status"],
      registers,
    }),
    requestSeconds: new Histogram({
      name: "iotguard_http_request_seconds",
      help: "HTTP request latency by route",
      labelNames: ["route"],
      registers,
      buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    }),
    refusals: new Counter({
      name: "iotguard_refusals_total",
      help: "refused requests by error code",
      labelNames: ["code"],
      registers,
    }),
    limitRefusals: new Counter({
      name: "iotguard_limit_refusals_total",
      help: "requests refused by an abuse limit: rate_join, rate_api (per source), busy (concurrent joins), body (size)",
      labelNames: ["limit"],
      registers,
    }),
    joins: new Counter({ name: "iotguard_joins_total", help: "successful joins", registers }),
    grants: new Counter({ name: "iotguard_grants_total", help: "session keys granted", registers }),
    warnings: new Counter({
      name: "iotguard_grant_warnings_total",
      help: "session requests answered with a warning, by reason",
      labelNames: ["reason"],
      registers,
    }),
    setupRelayed: new Counter({
      name: "iotguard_setup_relayed_total",
      help: "session set-up messages the head relayed from a device's set-up topic to a peer's inbox, by type",
      labelNames: ["type"],
      registers,
    }),
    setupDropped: new Counter({
      name: "iotguard_setup_dropped_total",
      help: "session set-up messages the head did not relay, by reason (rate-limited, sender-not-member, target-not-member, ...)",
      labelNames: ["reason"],
      registers,
    }),
    grantDeliveries: new Counter({
      name: "iotguard_grant_deliveries_total",
      help: "initiator Grants the head published itself (outcome direct), or why M2 was told to relay instead (offline, failed, timeout)",
      labelNames: ["outcome"],
      registers,
    }),
    indexLag: new Gauge({
      name: "iotguard_index_lag_blocks",
      help: "blocks between the chain head and the head's index",
      registers,
    }),
    indexedBlock: new Gauge({
      name: "iotguard_indexed_block",
      help: "last block in the head's registry index",
      registers,
    }),
    members: new Gauge({
      name: "iotguard_members",
      help: "current members (joined, unexpired, unrevoked)",
      registers,
    }),
  };
}

/**
 * One gauge with one label, set from `read()` at each scrape: a value per label value (none when
 * `read` gives undefined).
 */
function labelledGauge(
  metrics: HeadMetrics,
  name: string,
  help: string,
  label: string,
  read: () => Readonly<Record<string, number>> | undefined,
): void {
  new Gauge({
    name,
    help,
    labelNames: [label],
    registers: [metrics.registry],
    collect() {
      for (const [value, n] of Object.entries(read() ?? {})) this.set({ [label]: value }, n);
    },
  });
}

/**
 * Exposes the embedded broker's counters (admissions, refusals by reason, connections waiting
 * for their CONNACK) as `iotguard_broker_events{counter}`, read at each scrape.
 */
export function exposeBrokerCounters(
  metrics: HeadMetrics,
  read: () => Readonly<Record<string, number>> | undefined,
): void {
  labelledGauge(
    metrics,
    "iotguard_broker_events",
    "embedded MQTT broker counters: connections, connected, pending, refused* and dropped* since start",
    "counter",
    read,
  );
}

/**
 * Exposes the head database's group commit (platform/level-database.ts `writeStats`) as
 * `iotguard_store_writes{counter}`, read at each scrape: `batches` asked for by the stores (one per
 * join, revocation, enrollment…; grants go to the grant journal, below), level `writes` they took,
 * and how many of those were `durable` (fsynced).
 */
export function exposeStoreWrites(metrics: HeadMetrics, read: () => Readonly<WriteStats>): void {
  labelledGauge(
    metrics,
    "iotguard_store_writes",
    "head database since start: batches asked for, level writes they took (group commit), durable (fsynced) writes",
    "counter",
    () => {
      const stats = read();
      return { batches: stats.calls, writes: stats.writes, durable: stats.durableWrites };
    },
  );
}

/**
 * Exposes the session store's journal (platform/append-journal.ts) as
 * `iotguard_grant_journal{counter}`, read at each scrape: `records` appended (one per grant, end
 * of a device's sessions or prune chunk), fsynced `writes` they took (group commit),
 * `snapshots` (new segments) and `snapshotFailures` (the old segment stayed in use). records /
 * writes is how many grants share one fsync under load.
 */
export function exposeGrantJournal(metrics: HeadMetrics, read: () => Readonly<JournalStats>): void {
  labelledGauge(
    metrics,
    "iotguard_grant_journal",
    "grant journal since start: records appended, fsynced writes they took (group commit), snapshots written and failed",
    "counter",
    () => ({ ...read() }),
  );
}

/** What {@link exposeGrantState} reads. */
export interface GrantState {
  replayKeys: number;
  replayKeyBytes: number;
  sessions: number;
}

/**
 * Exposes the size of what the head keeps per grant (docs/protocol.md § Grant, bounded state) as
 * `iotguard_grant_state{kind}`, read at each scrape: `replayKeys` held, the `replayKeyBytes` their
 * set takes, and `sessions` kept (live and listed).
 */
export function exposeGrantState(metrics: HeadMetrics, read: () => GrantState): void {
  labelledGauge(
    metrics,
    "iotguard_grant_state",
    "grant state held in memory: replay keys, the bytes their set takes, sessions kept",
    "kind",
    () => ({ ...read() }),
  );
}
