/**
 * Collector configuration: every setting has a flag, an environment variable and a default that
 * works for the local set-up (the README's collector table lists them; a test keeps the two equal).
 * Validated once at start; a bad value stops the collector with one line naming the setting.
 */
import { resolve } from "node:path";
import { z } from "zod";
import { packageRoot } from "../../platform/package-root";
import { ConfigError, type ResolvedSettings, resolveSettings, setting } from "../../platform/settings";
import { SCHEMA_NAME } from "./storage/sql-engine";

const REPO_ROOT = packageRoot(__dirname, resolve(__dirname, "../.."));

const port = z.coerce.number().int().min(0).max(65535);
const microdegrees = (max: number) => z.coerce.number().int().min(-max).max(max);
const postgresUrl = z
  .string()
  .refine((v) => /^postgres(ql)?:\/\/[^\s]+$/.test(v) && URL.canParse(v), "a postgres:// URL");

export const SETTINGS = {
  dataDir: setting({
    flag: "--data-dir",
    env: "IOTGUARD_COLLECTOR_DATA_DIR",
    schema: z.string().min(1),
    default: resolve(REPO_ROOT, ".data/collector"),
    description:
      "where the collector keeps its device identity and sessions (device/), its API token (api-token, 0600) and the embedded database (pgdata/)",
  }),
  headUrl: setting({
    flag: "--head",
    env: "IOTGUARD_COLLECTOR_HEAD",
    schema: z.url(),
    default: "http://127.0.0.1:8080",
    description: "URL of the cluster head the collector joins",
  }),
  rpcUrl: setting({
    flag: "--rpc-url",
    env: "IOTGUARD_COLLECTOR_RPC_URL",
    schema: z.url(),
    default: "http://127.0.0.1:8545",
    description: "JSON-RPC URL of the chain the head is read from (the trust anchor)",
  }),
  deploymentFile: setting({
    flag: "--deployment",
    env: "IOTGUARD_COLLECTOR_DEPLOYMENT",
    schema: z.string().min(1),
    default: resolve(REPO_ROOT, "deployments/localhost.json"),
    description: "deployment file naming the DeviceRegistry (written by `npm run deploy`)",
  }),
  latitude: setting({
    flag: "--latitude",
    env: "IOTGUARD_COLLECTOR_LATITUDE",
    schema: microdegrees(90_000_000),
    default: "0",
    description: "the collector's position for the join, latitude in micro-degrees",
  }),
  longitude: setting({
    flag: "--longitude",
    env: "IOTGUARD_COLLECTOR_LONGITUDE",
    schema: microdegrees(180_000_000),
    default: "0",
    description: "the collector's position for the join, longitude in micro-degrees",
  }),
  databaseUrl: setting({
    flag: "--database-url",
    env: "IOTGUARD_COLLECTOR_DATABASE_URL",
    schema: postgresUrl.optional(),
    description:
      "a PostgreSQL server, e.g. postgres://user@127.0.0.1:5432/db (default: embedded PGlite in <data-dir>/pgdata); never printed, it may hold a password",
    secret: true,
  }),
  databaseSchema: setting({
    flag: "--database-schema",
    env: "IOTGUARD_COLLECTOR_DATABASE_SCHEMA",
    schema: z.string().regex(SCHEMA_NAME, "a lower-case SQL identifier"),
    default: "iotguard",
    description: "the schema holding the collector's tables (created when missing)",
  }),
  host: setting({
    flag: "--host",
    env: "IOTGUARD_COLLECTOR_HOST",
    schema: z.string().min(1),
    default: "127.0.0.1",
    description: "HTTP listen address of the readings API",
  }),
  port: setting({
    flag: "--port",
    env: "IOTGUARD_COLLECTOR_PORT",
    schema: port,
    default: "8090",
    description: "HTTP port of the readings API (0 = a free port)",
  }),
  batchSize: setting({
    flag: "--batch-size",
    env: "IOTGUARD_COLLECTOR_BATCH_SIZE",
    schema: z.coerce.number().int().min(1).max(20_000),
    default: "1000",
    description: "readings written in one transaction at most; a flush starts as soon as this many wait",
  }),
  flushMs: setting({
    flag: "--flush-ms",
    env: "IOTGUARD_COLLECTOR_FLUSH_MS",
    schema: z.coerce.number().int().min(0).max(60_000),
    default: "20",
    description: "longest a received reading waits for its batch to be written",
  }),
  maxBuffered: setting({
    flag: "--max-buffered",
    env: "IOTGUARD_COLLECTOR_MAX_BUFFERED",
    schema: z.coerce.number().int().min(1).max(10_000_000),
    default: "50000",
    description:
      "readings held in memory while the database is slow or away; past it a frame is dropped unacknowledged (the device re-sends it)",
  }),
  brokerCa: setting({
    flag: "--broker-ca",
    env: "IOTGUARD_COLLECTOR_BROKER_CA",
    schema: z.string().min(1).optional(),
    description: "PEM CA file to verify an mqtts:// broker (the broker URL comes from the head at join)",
  }),
  brokerCert: setting({
    flag: "--broker-cert",
    env: "IOTGUARD_COLLECTOR_BROKER_CERT",
    schema: z.string().min(1).optional(),
    description: "PEM client certificate for a broker that asks for one (with --broker-key)",
  }),
  brokerKey: setting({
    flag: "--broker-key",
    env: "IOTGUARD_COLLECTOR_BROKER_KEY",
    schema: z.string().min(1).optional(),
    description: "PEM private key file of --broker-cert (mode 0600)",
  }),
  allowPlainMqtt: setting({
    flag: "--allow-plain-mqtt",
    env: "IOTGUARD_COLLECTOR_ALLOW_PLAIN_MQTT",
    schema: z.enum(["true", "false"]).transform((v) => v === "true"),
    default: "false",
    description:
      "connect to a plain mqtt:// broker that is not on loopback (its credential and topics then cross the network in clear)",
  }),
  logLevel: setting({
    flag: "--log-level",
    env: "IOTGUARD_COLLECTOR_LOG_LEVEL",
    schema: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]),
    default: "info",
    description: "pino log level",
  }),
} as const;

export type SettingName = keyof typeof SETTINGS;
export type CollectorConfig = ResolvedSettings<typeof SETTINGS>;
export { ConfigError };

/**
 * Resolves every setting from flags (highest), then environment, then defaults, and validates it.
 * @throws ConfigError naming the first bad setting (never echoing a secret one's value)
 */
export function loadConfig(
  flags: Partial<Record<SettingName, string>>,
  env: NodeJS.ProcessEnv = process.env,
): CollectorConfig {
  return resolveSettings(SETTINGS, flags, env);
}

/** A database URL fit for a log line: scheme, host, port and database, never the user or password. */
export function describeDatabase(config: Pick<CollectorConfig, "databaseUrl" | "dataDir">): string {
  if (config.databaseUrl === undefined) return `embedded PGlite in ${resolve(config.dataDir, "pgdata")}`;
  const u = new URL(config.databaseUrl);
  return `PostgreSQL at ${u.hostname}:${u.port || "5432"}${u.pathname}`;
}
