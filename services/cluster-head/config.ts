/**
 * Cluster head configuration: every setting has a flag, an environment variable and a default that
 * works for the local set-up. It is validated once at start; a bad value stops the head with one
 * line naming the setting.
 */
import { isIP } from "node:net";
import { resolve } from "node:path";
import { z } from "zod";
import { HARDHAT_DEV_ACCOUNT_0_KEY, LOCAL_CHAIN_ID } from "../../chain/local-development";
import { packageRoot } from "../../platform/package-root";
import { ConfigError, type ResolvedSettings, resolveSettings, setting } from "../../platform/settings";
import { parseJoinSuites } from "../../protocol";

// The defaults live at the package root, also when this runs from the build output (dist/…).
const REPO_ROOT = packageRoot(__dirname, resolve(__dirname, "../.."));

const port = z.coerce.number().int().min(0).max(65535);
const seconds = z.coerce
  .number()
  .int()
  .min(1)
  .max(365 * 24 * 3600);
const microdegrees = (max: number) => z.coerce.number().int().min(-max).max(max);
/** Requests per second refilled into a per-source bucket (fractions allowed: 0.5 = one every 2 s). */
const perSecond = z.coerce.number().positive().max(1_000_000);
const burst = z.coerce.number().int().min(1).max(1_000_000);
/** A comma-separated list of IP addresses, or `none`. */
const ipList = z.string().transform((text, ctx) => {
  if (text.trim() === "none") return [];
  const addresses = text.split(",").map((a) => a.trim());
  const bad = addresses.find((a) => isIP(a) === 0);
  if (bad !== undefined) {
    ctx.addIssue({ code: "custom", message: `not an IP address: "${bad}"` });
    return z.NEVER;
  }
  return addresses;
});
/** A comma-separated list of join-suite names in preference order (protocol/join/suites.ts). */
const joinSuites = z.string().transform((text, ctx) => {
  try {
    return parseJoinSuites(text);
  } catch (error) {
    ctx.addIssue({ code: "custom", message: (error as Error).message });
    return z.NEVER;
  }
});

export const SETTINGS = {
  rpcUrl: setting({
    flag: "--rpc-url",
    env: "IOTGUARD_RPC_URL",
    schema: z.url(),
    default: "http://127.0.0.1:8545",
    description: "JSON-RPC URL of the chain",
  }),
  deploymentFile: setting({
    flag: "--deployment",
    env: "IOTGUARD_DEPLOYMENT",
    schema: z.string().min(1),
    default: resolve(REPO_ROOT, "deployments/localhost.json"),
    description: "deployment file written by `npm run deploy`",
  }),
  dataDir: setting({
    flag: "--data-dir",
    env: "IOTGUARD_DATA_DIR",
    schema: z.string().min(1),
    default: resolve(REPO_ROOT, ".data/cluster-head"),
    description: "where the head keeps its key, admin token and level database",
  }),
  host: setting({
    flag: "--host",
    env: "IOTGUARD_HTTP_HOST",
    schema: z.string().min(1),
    default: "127.0.0.1",
    description: "HTTP listen address",
  }),
  port: setting({
    flag: "--port",
    env: "IOTGUARD_HTTP_PORT",
    schema: port,
    default: "8080",
    description: "HTTP port (0 = a free port)",
  }),
  tlsCert: setting({
    flag: "--tls-cert",
    env: "IOTGUARD_TLS_CERT",
    schema: z.string().min(1).optional(),
    description:
      "PEM certificate file (chain, leaf first) for HTTPS; with --tls-key the head serves HTTPS only. Read at start",
  }),
  tlsKey: setting({
    flag: "--tls-key",
    env: "IOTGUARD_TLS_KEY",
    schema: z.string().min(1).optional(),
    description: "PEM private key file of --tls-cert (mode 0600)",
  }),
  allowPlainHttp: setting({
    flag: "--allow-plain-http",
    env: "IOTGUARD_ALLOW_PLAIN_HTTP",
    schema: z.enum(["true", "false"]).transform((v) => v === "true"),
    default: "false",
    description:
      "serve plain HTTP on a --host that is not loopback (the operator token and enrollments then cross the network in clear); without it such a head refuses to start",
  }),
  clusterId: setting({
    flag: "--cluster-id",
    env: "IOTGUARD_CLUSTER_ID",
    schema: z.coerce.number().int().min(1).max(0xffff_ffff),
    default: "1",
    description: "the cluster this head runs (uint32, not 0)",
  }),
  latitude: setting({
    flag: "--latitude",
    env: "IOTGUARD_LATITUDE",
    schema: microdegrees(90_000_000),
    default: "0",
    description: "cluster centre latitude in micro-degrees (used when the head creates its cluster)",
  }),
  longitude: setting({
    flag: "--longitude",
    env: "IOTGUARD_LONGITUDE",
    schema: microdegrees(180_000_000),
    default: "0",
    description: "cluster centre longitude in micro-degrees",
  }),
  radius: setting({
    flag: "--radius",
    env: "IOTGUARD_RADIUS",
    schema: z.coerce.number().int().min(1).max(180_000_000),
    default: "1000000",
    description: "cluster radius in micro-degrees of arc",
  }),
  chainAdminKey: setting({
    flag: "--chain-admin-key",
    env: "IOTGUARD_CHAIN_ADMIN_KEY",
    schema: z
      .string()
      .regex(/^0x[0-9a-fA-F]{64}$/, "a 0x-prefixed 32-byte hex key")
      .optional(),
    description:
      "registry admin key, used only to create the cluster and fund the head when needed (default on the local chain 31337: Hardhat's first dev account)",
    secret: true,
  }),
  adminToken: setting({
    flag: "--admin-token",
    env: "IOTGUARD_ADMIN_TOKEN",
    schema: z.string().min(32, "at least 32 characters").optional(),
    description: "operator bearer token (default: generated into <data-dir>/admin-token, mode 0600)",
    secret: true,
  }),
  brokerUrl: setting({
    flag: "--broker-url",
    env: "IOTGUARD_BROKER_URL",
    schema: z.url().optional(),
    description: "external MQTT broker, e.g. mqtt://127.0.0.1:1883 (default: the embedded broker)",
    // Its userinfo may hold the broker password: never echoed in a config error.
    secret: true,
  }),
  brokerAdminFile: setting({
    flag: "--broker-admin-file",
    env: "IOTGUARD_BROKER_ADMIN_FILE",
    schema: z.string().min(1).optional(),
    description:
      "file (mode 0600, one line username:password) with the dynamic-security admin of the --broker-url Mosquitto: the head then creates, limits and deletes each member's broker client (docs/mqtt.md § Mosquitto)",
  }),
  brokerCa: setting({
    flag: "--broker-ca",
    env: "IOTGUARD_BROKER_CA",
    schema: z.string().min(1).optional(),
    description:
      "PEM file of the CA that issued the broker's certificate, for an mqtts:// --broker-url: the only root trusted for it (default: Node's public roots). Read at start",
  }),
  brokerCert: setting({
    flag: "--broker-cert",
    env: "IOTGUARD_BROKER_CERT",
    schema: z.string().min(1).optional(),
    description:
      "PEM client certificate file the head presents to an mqtts:// broker that requires one (with --broker-key)",
  }),
  brokerKey: setting({
    flag: "--broker-key",
    env: "IOTGUARD_BROKER_KEY",
    schema: z.string().min(1).optional(),
    description: "PEM private key file of --broker-cert (mode 0600)",
  }),
  allowPlainMqtt: setting({
    flag: "--allow-plain-mqtt",
    env: "IOTGUARD_ALLOW_PLAIN_MQTT",
    schema: z.enum(["true", "false"]).transform((v) => v === "true"),
    default: "false",
    description:
      "connect to an mqtt:// --broker-url that is not loopback (the broker credential and every topic name then cross the network in clear); without it such a head refuses to start (E_PLAINTEXT_BROKER)",
  }),
  brokerPort: setting({
    flag: "--broker-port",
    env: "IOTGUARD_BROKER_PORT",
    schema: port,
    default: "1884",
    description: "embedded broker port (0 = a free port); 1883 is left to a system Mosquitto",
  }),
  topicPrefix: setting({
    flag: "--topic-prefix",
    env: "IOTGUARD_TOPIC_PREFIX",
    schema: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
    default: "iotguard",
    description: "MQTT topic prefix",
  }),
  confirmations: setting({
    flag: "--confirmations",
    env: "IOTGUARD_CONFIRMATIONS",
    schema: z.coerce.number().int().min(0).max(1000),
    default: "0",
    description: "blocks to wait before indexing chain events",
  }),
  maxReorgDepth: setting({
    flag: "--max-reorg-depth",
    env: "IOTGUARD_MAX_REORG_DEPTH",
    schema: z.coerce.number().int().min(0).max(10_000),
    default: "64",
    description:
      "deepest reorganisation of indexed blocks the head rewinds and replays; a deeper one (or another chain) halts it with E_CHAIN_MISMATCH",
  }),
  maxFeeGwei: setting({
    flag: "--max-fee-gwei",
    env: "IOTGUARD_MAX_FEE_GWEI",
    schema: z.coerce.number().positive().max(1_000_000).optional(),
    description:
      "EIP-1559 cap on the head's transactions: the most it pays per gas (base fee + tip), in gwei (default: the node's suggestion, uncapped)",
  }),
  maxPriorityFeeGwei: setting({
    flag: "--max-priority-fee-gwei",
    env: "IOTGUARD_MAX_PRIORITY_FEE_GWEI",
    schema: z.coerce.number().nonnegative().max(1_000_000).optional(),
    description:
      "EIP-1559 cap on the tip per gas of the head's transactions, in gwei (default: the node's suggestion)",
  }),
  replaceAfterS: setting({
    flag: "--replace-after",
    env: "IOTGUARD_REPLACE_AFTER",
    schema: seconds,
    default: "120",
    description:
      "seconds a transaction of the head may wait unmined before it is sent again with the same nonce and fees raised by 12.5% (never above the caps)",
  }),
  pollIntervalMs: setting({
    flag: "--poll-interval-ms",
    env: "IOTGUARD_POLL_INTERVAL_MS",
    schema: z.coerce.number().int().min(10).max(600_000),
    default: "250",
    description: "how often the chain is polled for new events",
  }),
  challengeTtlS: setting({
    flag: "--challenge-ttl",
    env: "IOTGUARD_CHALLENGE_TTL",
    schema: seconds,
    default: "30",
    description: "seconds a join challenge stays valid",
  }),
  membershipTtlS: setting({
    flag: "--membership-ttl",
    env: "IOTGUARD_MEMBERSHIP_TTL",
    schema: seconds,
    default: "86400",
    description: "seconds a membership (K_m and broker credential) lasts before a new join",
  }),
  sessionTtlS: setting({
    flag: "--session-ttl",
    env: "IOTGUARD_SESSION_TTL",
    schema: seconds,
    default: "3600",
    description: "seconds a granted session key lasts",
  }),
  maxSessionsPerDevice: setting({
    flag: "--max-sessions-per-device",
    env: "IOTGUARD_MAX_SESSIONS_PER_DEVICE",
    schema: z.coerce.number().int().min(2).max(1_000_000),
    default: "256",
    description:
      "sessions one device may hold at once; a new grant past it supersedes the device's oldest session (two devices keep at most their newest 2 sessions with each other)",
  }),
  journalSegmentKib: setting({
    flag: "--journal-segment-kib",
    env: "IOTGUARD_JOURNAL_SEGMENT_KIB",
    schema: z.coerce
      .number()
      .int()
      .min(4)
      .max(4 * 1024 * 1024),
    default: "16384",
    description:
      "KiB the grant journal's segment may reach before the head writes its state as a new one (at least four times the last one): smaller starts faster after a crash, larger rewrites less",
  }),
  joinSuites: setting({
    flag: "--join-suites",
    env: "IOTGUARD_JOIN_SUITES",
    schema: joinSuites,
    default: "hybrid,classic",
    description:
      "join suites this head accepts, preferred first: hybrid (ML-KEM-768 + ECDH), classic (ECDH only); `hybrid` alone refuses classic-only devices (E_SUITE_REFUSED)",
  }),
  cryptoBackend: setting({
    flag: "--crypto-backend",
    env: "IOTGUARD_CRYPTO_BACKEND",
    schema: z.enum(["node", "noble"]),
    default: "node",
    description:
      "crypto: node (node:crypto/OpenSSL for symmetric, libsecp256k1 for the curve: faster) or noble (pure JavaScript); both give identical bytes",
  }),
  joinRate: setting({
    flag: "--join-rate",
    env: "IOTGUARD_JOIN_RATE",
    schema: perSecond,
    default: "2",
    description:
      "per-source limit on POST /v1/join/challenge and POST /v1/join together: requests per second refilled (E_RATE_LIMITED past it)",
  }),
  joinBurst: setting({
    flag: "--join-burst",
    env: "IOTGUARD_JOIN_BURST",
    schema: burst,
    default: "20",
    description: "per-source join bucket size: join requests a source may make at once (a join takes two)",
  }),
  apiRate: setting({
    flag: "--api-rate",
    env: "IOTGUARD_API_RATE",
    schema: perSecond,
    default: "20",
    description:
      "per-source limit on every other route (sessions, device reads, health, metrics, operator): requests per second",
  }),
  apiBurst: setting({
    flag: "--api-burst",
    env: "IOTGUARD_API_BURST",
    schema: burst,
    default: "50",
    description: "per-source bucket size for the other routes",
  }),
  rateLimitExempt: setting({
    flag: "--rate-limit-exempt",
    env: "IOTGUARD_RATE_LIMIT_EXEMPT",
    schema: ipList,
    default: "127.0.0.1,::1",
    description:
      "comma-separated peer addresses exempt from the per-source limits (`none` for no exemption); the head's own machine by default, so a local proxy must limit its clients itself",
  }),
  rateLimitSources: setting({
    flag: "--rate-limit-sources",
    env: "IOTGUARD_RATE_LIMIT_SOURCES",
    schema: z.coerce.number().int().min(1).max(10_000_000),
    default: "100000",
    description: "sources whose buckets are remembered (the least recently seen is forgotten past it)",
  }),
  maxConcurrentJoins: setting({
    flag: "--max-concurrent-joins",
    env: "IOTGUARD_MAX_CONCURRENT_JOINS",
    schema: z.coerce.number().int().min(1).max(100_000),
    default: "32",
    description:
      "joins verified at once (signature work); past it POST /v1/join answers E_HEAD_BUSY (503, Retry-After) before any ECDSA",
  }),
  maxJsonBody: setting({
    flag: "--max-json-body",
    env: "IOTGUARD_MAX_JSON_BODY",
    schema: z.coerce
      .number()
      .int()
      .min(1024)
      .max(16 * 1024 * 1024),
    default: "65536",
    description:
      "bytes of a JSON body (operator routes; a batch of 200 enrollments is about 50 KiB); protocol routes take exactly their message sizes",
  }),
  collectorUrl: setting({
    flag: "--collector-url",
    env: "IOTGUARD_COLLECTOR_URL",
    schema: z.url().optional(),
    description:
      "base URL of the telemetry collector's readings API (docs/telemetry.md), proxied for the dashboard at GET /v1/telemetry/readings (with --collector-token-file)",
  }),
  collectorTokenFile: setting({
    flag: "--collector-token-file",
    env: "IOTGUARD_COLLECTOR_TOKEN_FILE",
    schema: z.string().min(1).optional(),
    description: "the collector's API token file (its <data-dir>/api-token, mode 0600). Read at start",
  }),
  logLevel: setting({
    flag: "--log-level",
    env: "IOTGUARD_LOG_LEVEL",
    schema: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]),
    default: "info",
    description: "pino log level",
  }),
} as const;

export type SettingName = keyof typeof SETTINGS;
export type HeadConfig = ResolvedSettings<typeof SETTINGS>;
export { ConfigError };

/**
 * Resolves every setting from flags (highest), then environment, then defaults, and validates it.
 * @param flags - values keyed by setting name (e.g. from commander)
 * @throws ConfigError naming the first bad setting
 */
export function loadConfig(
  flags: Partial<Record<SettingName, string>>,
  env: NodeJS.ProcessEnv = process.env,
): HeadConfig {
  return resolveSettings(SETTINGS, flags, env);
}

/**
 * The registry admin key the head may use to create its cluster and fund itself: the configured
 * one, or on the local development chain (31337) only, Hardhat's first account, which deployed
 * the registry there. Undefined elsewhere: a real network never gets a well-known key.
 */
export function chainAdminKeyFor(config: HeadConfig, chainId: number): string | undefined {
  return config.chainAdminKey ?? (chainId === LOCAL_CHAIN_ID ? HARDHAT_DEV_ACCOUNT_0_KEY : undefined);
}
