/**
 * The cluster head's composition root: start-up as a list of named steps, and a stop that undoes
 * them in reverse. `start()` listens on the configured port (0 = free), so tests run heads in-process.
 */
import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import { mkdirSync } from "node:fs";
import { createServer as createHttpServer, type RequestListener, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { join } from "node:path";
import { formatEther, NonceManager, parseEther, Wallet } from "ethers";
import { writeToStream as mqttWriteToStream } from "mqtt-packet";
import pino, { type Logger } from "pino";
import {
  CHALLENGE_KEY_SIZE,
  fromHex,
  generateIdentity,
  type Identity,
  identityFromSecretKey,
  type RandomSource,
  toHex,
} from "../../protocol";
import { readDeployment } from "../../chain/deployment-file";
import { LOCAL_CHAIN_ID } from "../../chain/local-development";
import { pooledRandom } from "../../platform/pooled-random";
import { MqttTransportError, redactBrokerUrl } from "../../transport/mqtt";
import { loadBrokerTls } from "./broker/broker-tls";
import { LIVE_BROKER_ACCESS } from "./broker/broker-access";
import { type HeadBroker, startHeadBroker } from "./broker/head-broker";
import { exposePendingMetrics, exposeReorgMetrics, exposeWalletMetrics } from "./chain/chain-metrics";
import { ChainIndexFollower } from "./chain/index-follower";
import { connectRegistry, makeProvider } from "../../chain/registry-contract";
import { chainAdminKeyFor, type HeadConfig } from "./config";
import type { HeadContext, HeadEvents } from "./context";
import { useCryptoBackends } from "./crypto-backends";
import { createRequestListener } from "./http/app";
import { MemberMacKeyCache } from "./member-mac-keys";
import {
  createMetrics,
  exposeBrokerCounters,
  exposeGrantJournal,
  exposeGrantState,
  exposeStoreWrites,
} from "./metrics";
import { wireNotifications } from "./notifications";
import { wireRequestRelay } from "./request-relay";
import { AuditStore } from "./stores/audit-store";
import { ChallengeStore } from "./stores/challenge-store";
import { HeadDatabase } from "./stores/database";
import { MemberKeyVault } from "./stores/member-key-vault";
import { MemberStore } from "./stores/member-store";
import { OperatorStore } from "./stores/operator-store";
import { PendingTransactionsStore } from "./stores/pending-transactions-store";
import { RegistryIndexStore } from "./stores/registry-index-store";
import { loadOrCreateSecret } from "./stores/secret-file";
import { SessionStore } from "./stores/session-store";
import { applyIndexChanges } from "./use-cases/apply-index-changes";
import { loadTls, type TlsFiles, TlsSetupError } from "./tls";
import { runHousekeeping } from "./use-cases/housekeeping";
import { OperatorRegistry } from "./use-cases/operators";
import { settlePending } from "./use-cases/pending-transactions";
import { reconcileWithIndex } from "./use-cases/reconcile-with-index";

const VERSION: string = require("../../package.json").version;
/** On the local chain the head is topped up to this balance so it can pay for enrollments. */
const LOCAL_HEAD_FUNDING = parseEther("100");
const HOUSEKEEPING_INTERVAL_MS = 60_000;

/** A start-up problem with a one-line explanation for the operator. */
export class HeadStartError extends Error {
  readonly code = "E_HEAD_START";
  constructor(message: string) {
    super(message);
    this.name = "HeadStartError";
  }
}

export interface RunningHead {
  url: string;
  port: number;
  /** Where devices connect, as configured: it may carry the broker credential, so show it only through `redactBrokerUrl`. */
  brokerUrl: string;
  headAddress: string;
  clusterId: number;
  /** Path of the operator token file, or undefined when the token came from configuration. */
  adminTokenFile: string | undefined;
  context: HeadContext;
  /** The head's MQTT side (embedded broker, if any, and its own client). */
  broker: HeadBroker;
  stop(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  now?: () => number;
  random?: RandomSource;
}

/** Starts a cluster head. @throws HeadStartError naming what to fix. */
export async function startClusterHead(config: HeadConfig, options: StartOptions = {}): Promise<RunningHead> {
  const logger =
    options.logger ??
    pino({ level: config.logLevel, base: { service: "cluster-head", cluster: config.clusterId } });
  const cleanups: (() => Promise<void> | void)[] = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        logger.warn({ err: error }, "error during shutdown");
      }
    }
    cleanups.length = 0;
  };

  try {
    // 0. Crypto backends (process-wide; all give identical bytes).
    const backends = useCryptoBackends(config.cryptoBackend, logger);

    // 0b. How HTTP will listen: checked first, so a head that would serve in clear never starts.
    let tls: TlsFiles | undefined;
    try {
      tls = loadTls(config);
    } catch (error) {
      if (error instanceof TlsSetupError) throw new HeadStartError(error.message);
      throw error;
    }
    // 0c. How MQTT will connect: an external broker off loopback only over TLS (or when allowed),
    //     and its TLS files readable and private, before anything else starts.
    try {
      loadBrokerTls(config);
    } catch (error) {
      if (error instanceof MqttTransportError) throw new HeadStartError(`${error.code}: ${error.message}`);
      throw error;
    }

    // 1. Secrets in the data directory.
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    const identity = loadHeadIdentity(config.dataDir);
    const adminTokenFile = config.adminToken ? undefined : join(config.dataDir, "admin-token");
    const adminToken =
      config.adminToken ??
      loadOrCreateSecret(
        adminTokenFile!,
        () => randomBytes(32).toString("base64url"),
        (t) => t,
        (t) => {
          if (t.length < 32) throw new Error("short token");
          return t;
        },
      ).secret;

    // 2. The chain and the registry of the deployment file.
    const deployment = readDeployment(config.deploymentFile);
    if (!deployment)
      throw new HeadStartError(
        `no deployment file at ${config.deploymentFile}: run \`npm run deploy\` first`,
      );
    const provider = makeProvider(config.rpcUrl, config.pollIntervalMs);
    cleanups.push(() => provider.destroy());
    let chainId: number;
    try {
      chainId = Number((await provider.getNetwork()).chainId);
    } catch {
      throw new HeadStartError(
        `cannot reach the chain at ${config.rpcUrl}: start it with \`npm run chain\` or set --rpc-url`,
      );
    }
    const headAddress = `0x${toHex(identity.address)}`;
    const signer = new NonceManager(new Wallet(`0x${toHex(identity.secretKey)}`, provider));
    const registry = connectRegistry(deployment, signer);

    // 3. The open database, the registry index and the stores.
    const database = await HeadDatabase.open(join(config.dataDir, "db"));
    cleanups.push(() => database.close());
    const index = await RegistryIndexStore.open(database);
    const pending = await PendingTransactionsStore.open(database);
    const metrics = createMetrics({ defaultMetrics: true });
    const follower = new ChainIndexFollower({
      provider,
      deployment,
      store: index,
      confirmations: config.confirmations,
      maxReorgDepth: config.maxReorgDepth,
      pollIntervalMs: config.pollIntervalMs,
      onError: (error) => logger.warn({ err: error.message }, "chain poll failed"),
    });
    cleanups.push(() => follower.stop());
    await ensureCluster(config, chainId, deployment, provider, headAddress, logger);
    const { store: members, report: memberReport } = await MemberStore.open(
      database,
      MemberKeyVault.open(join(config.dataDir, "member-keys")),
    );
    if (memberReport.legacyDropped + memberReport.keyless + memberReport.orphanKeys > 0)
      logger.warn(memberReport, "memberships repaired at start: the devices concerned join again");
    // CSPRNG bytes drawn a few KiB at a time (platform/pooled-random.ts), wiped at stop.
    const pooled = pooledRandom();
    cleanups.push(() => pooled.wipe());
    const random = options.random ?? pooled;

    const audit = new AuditStore(database, random);
    const now = options.now ?? Date.now;
    const operators = new OperatorRegistry(
      await OperatorStore.open(database),
      adminToken,
      audit,
      now,
      random,
    );

    // Grants and sessions: their own journal beside level (stores/session-store.ts).
    const sessions = await SessionStore.open(database, join(config.dataDir, "grants"), {
      maxSessionsPerDevice: config.maxSessionsPerDevice,
      journalSegmentBytes: config.journalSegmentKib * 1024,
      now: now(),
      onSnapshotFailure: (error) =>
        logger.warn(
          { err: error.message },
          "grant journal snapshot failed: its segment keeps growing until one succeeds (tried again after an eighth of --journal-segment-kib)",
        ),
    });
    cleanups.push(() => sessions.close());
    if (sessions.journalTailBytesCut > 0)
      logger.warn(
        { bytesCut: sessions.journalTailBytesCut },
        "the grant journal was cut at its first record that failed its check: a write torn by a crash or power cut (never acknowledged), or damage to the file",
      );

    const ctx: HeadContext = {
      config,
      logger,
      metrics,
      database,
      index,
      members,
      macKeys: new MemberMacKeyCache(members),
      challenges: await ChallengeStore.open(database, loadChallengeKey(config.dataDir)),
      sessions,
      audit,
      operators,
      follower,
      pending,
      registry,
      identity,
      now,
      random,
      events: new EventEmitter<HeadEvents>(),
      // Until MQTT starts (step 5): an administered broker is reconciled with the stores then.
      brokerAccess: LIVE_BROKER_ACCESS,
    };
    metrics.members.set(ctx.members.size);
    // Derived MAC keys die with their K_m: at each end of a membership, at the expiry purge, at stop.
    ctx.events.on("revoked", ({ deviceId }) => ctx.macKeys.forgetEnded(deviceId));
    cleanups.push(() => ctx.macKeys.clear());

    // Ends of memberships found before MQTT is up are told to peers once it is (step 5).
    const endedBeforeMqtt: HeadEvents["revoked"][0][] = [];
    const holdEnded = (ended: HeadEvents["revoked"][0]) => void endedBeforeMqtt.push(ended);
    ctx.events.on("revoked", holdEnded);

    // 4. Catch up with the chain, applying each change to members and sessions as it is indexed
    //    (the handler is attached first: changes made while the head was down count too), then
    //    repair what a crash between an index batch and its clean-up may have left.
    follower.onChanges(async (changes) => {
      try {
        await applyIndexChanges(ctx, changes);
      } catch (error) {
        logger.error({ err: error }, "applying registry changes failed: reconciling with the index");
        await reconcileWithIndex(ctx);
      }
    });
    follower.on("halted", (reason) =>
      logger.error({ reason }, "the chain no longer matches the index: refusing to serve"),
    );
    follower.on("reorg", (reorg) => {
      logger.warn(reorg, "chain reorganisation: index rewound to the common ancestor and replayed");
      // The head's own transactions in the dropped blocks may be gone: ask the node for the next nonce.
      signer.reset();
    });
    exposeReorgMetrics(metrics.registry, follower);
    exposePendingMetrics(metrics.registry, pending);
    exposeWalletMetrics(metrics.registry, ctx);
    // After each index round: forget what the index now holds, look up what a restart left behind.
    follower.on("synced", (indexedBlock) => {
      settlePending(ctx, indexedBlock).catch((error: unknown) =>
        logger.warn({ err: (error as Error).message }, "checking pending registry transactions failed"),
      );
    });
    await follower.start();
    await reconcileWithIndex(ctx);

    // 5. MQTT: embedded broker or external, and the head's own client.
    // mqtt-packet (aedes' and MQTT.js's encoder) otherwise builds a table of 65,536 two-byte
    // Buffers at its first packet, ~8 MB of heap kept for good; MQTT.js turns it off the same way
    // (its `writeCache: false`). Set before any packet is written in this process.
    mqttWriteToStream.cacheNumbers = false;
    let broker: HeadBroker;
    try {
      broker = await startHeadBroker(ctx);
    } catch (error) {
      const where = config.brokerUrl
        ? redactBrokerUrl(config.brokerUrl)
        : `embedded broker port ${config.brokerPort}`;
      throw new HeadStartError(`cannot start MQTT (${where}): ${(error as Error).message}`);
    }
    cleanups.push(() => broker.close());
    exposeBrokerCounters(metrics, () => (broker.embedded ? { ...broker.embedded.counters } : undefined));
    exposeStoreWrites(metrics, () => database.writeStats);
    exposeGrantJournal(metrics, () => sessions.journalStats);
    exposeGrantState(metrics, () => ({
      replayKeys: sessions.replayKeyCount,
      replayKeyBytes: sessions.replayKeyBytes,
      sessions: sessions.sessionCount,
    }));
    wireNotifications(ctx, broker);
    await wireRequestRelay(ctx, broker);
    ctx.events.off("revoked", holdEnded);
    for (const ended of endedBeforeMqtt) ctx.events.emit("revoked", ended);

    // 6. Periodic clean-up: challenges, expired memberships, old sessions and replay keys, audit.
    const housekeeping = setInterval(() => {
      runHousekeeping(ctx)
        .finally(() => ctx.macKeys.sweep())
        .catch((error) => logger.warn({ err: error.message }, "housekeeping failed"));
    }, HOUSEKEEPING_INTERVAL_MS);
    housekeeping.unref();
    cleanups.push(() => clearInterval(housekeeping));

    // 7. HTTP.
    const listener = createRequestListener(ctx, { brokerStatus: broker.status, version: VERSION });
    const server = await listen(listener, config.host, config.port, tls);
    cleanups.push(() => closeServer(server));
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : config.port;
    const url = `${tls ? "https" : "http"}://${config.host.includes(":") ? `[${config.host}]` : config.host}:${port}`;
    logger.info(
      {
        url,
        broker: redactBrokerUrl(broker.url),
        headAddress,
        clusterId: config.clusterId,
        crypto: backends,
      },
      "cluster head ready",
    );

    return {
      url,
      port,
      brokerUrl: broker.url,
      headAddress,
      clusterId: config.clusterId,
      adminTokenFile,
      context: ctx,
      broker,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** The key K_c that makes this head's join challenges recognisable to it alone (protocol/join/stateless-challenge.ts). */
function loadChallengeKey(dataDir: string): Uint8Array {
  return loadOrCreateSecret<Uint8Array>(
    join(dataDir, "challenge.key"),
    () => new Uint8Array(randomBytes(CHALLENGE_KEY_SIZE)),
    (key) => toHex(key),
    (text) => {
      if (!/^[0-9a-f]{64}$/.test(text)) throw new Error("not a key");
      return fromHex(text);
    },
  ).secret;
}

function loadHeadIdentity(dataDir: string): Identity {
  const { secret } = loadOrCreateSecret(
    join(dataDir, "head.key"),
    () => generateIdentity(),
    (identity) => toHex(identity.secretKey),
    (text) => {
      if (!/^[0-9a-f]{64}$/.test(text)) throw new Error("not a key");
      return identityFromSecretKey(fromHex(text));
    },
  );
  return secret;
}

/**
 * Makes sure the head's cluster exists on chain with this head's key, creating it with the chain
 * admin key when it does not, and funds the head on the local development chain.
 */
async function ensureCluster(
  config: HeadConfig,
  chainId: number,
  deployment: Parameters<typeof connectRegistry>[0],
  provider: ReturnType<typeof makeProvider>,
  headAddress: string,
  logger: Logger,
): Promise<void> {
  const adminKey = chainAdminKeyFor(config, chainId);
  const admin = adminKey ? new NonceManager(new Wallet(adminKey, provider)) : undefined;
  const reader = connectRegistry(deployment, provider);
  const cluster = await reader.getCluster(config.clusterId);

  if (cluster.radius === 0n) {
    if (!admin) {
      throw new HeadStartError(
        `cluster ${config.clusterId} does not exist on chain ${chainId}; set --chain-admin-key (the registry admin) so the head can create it`,
      );
    }
    const tx = await connectRegistry(deployment, admin).createCluster(
      config.clusterId,
      headAddress,
      config.latitude,
      config.longitude,
      config.radius,
    );
    await tx.wait();
    logger.info({ clusterId: config.clusterId, headAddress }, "cluster created on chain");
  } else if (cluster.head.toLowerCase() !== headAddress.toLowerCase()) {
    throw new HeadStartError(
      `cluster ${config.clusterId} is headed by ${cluster.head} on chain, but this head's key is ${headAddress}; ` +
        "use the data directory holding that key, another --cluster-id, or have the admin appoint this head",
    );
  }

  const balance = await provider.getBalance(headAddress);
  if (chainId === LOCAL_CHAIN_ID && admin && balance < LOCAL_HEAD_FUNDING / 2n) {
    await (await admin.sendTransaction({ to: headAddress, value: LOCAL_HEAD_FUNDING - balance })).wait();
  } else if (balance === 0n) {
    logger.warn(
      { headAddress, balance: formatEther(balance) },
      "the head has no funds: enrollments will fail until it is funded",
    );
  }
}

function listen(
  listener: RequestListener,
  host: string,
  port: number,
  tls: TlsFiles | undefined,
): Promise<Server> {
  return new Promise((resolve, reject) => {
    // HTTPS only when a key pair is configured: no plain listener beside it to downgrade to.
    const server = tls
      ? createHttpsServer({ ...tls, minVersion: "TLSv1.2" }, listener)
      : createHttpServer(listener);
    server.listen(port, host);
    // Longer than clients' keep-alive (undici: 4 s), so an idle reused socket is never cut mid-request.
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
    server.once("listening", () => resolve(server));
    server.once("error", (error: NodeJS.ErrnoException) => {
      reject(
        new HeadStartError(
          error.code === "EADDRINUSE"
            ? `port ${port} on ${host} is already in use: choose another with --port (0 = a free port)`
            : `cannot listen on ${host}:${port}: ${error.message}`,
        ),
      );
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
