/**
 * What every CLI command shares: resolving the data directory and passphrase, reading the token
 * file, and printing human lines or JSON lines. Secrets are read, never printed.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Command, Option } from "commander";
import { deploymentPath, readDeployment } from "../../chain/deployment-file";
import { Device, DeviceError, type DeviceOptions, type RegistryAnchor } from "../sdk";
import {
  BROKER_TLS_FLAGS,
  type BrokerTls,
  MqttTransportError,
  readBrokerTlsFiles,
} from "../../transport/mqtt";

export const DATA_DIR_ENV = "IOTGUARD_DEVICE_DIR";
export const DEFAULT_DATA_DIR = ".data/device";
/** The same variables the cluster head reads, so one shell set-up serves both. */
export const RPC_URL_ENV = "IOTGUARD_RPC_URL";
export const DEPLOYMENT_ENV = "IOTGUARD_DEPLOYMENT";
export const DEFAULT_RPC_URL = "http://127.0.0.1:8545";
/** Written by `npm run deploy` for the local chain; used by default when it exists. */
export const DEFAULT_DEPLOYMENT_FILE = deploymentPath("localhost");

export interface CommonOptions {
  dataDir?: string;
  passphraseEnv?: string;
  json?: boolean;
}

/** Adds --data-dir, --passphrase-env and --json to a command. */
export function withCommon(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        "--data-dir <dir>",
        `device data directory (default: $${DATA_DIR_ENV} or ${DEFAULT_DATA_DIR})`,
      ),
    )
    .option("--passphrase-env <VAR>", "name of the environment variable holding the key passphrase")
    .option("--json", "print JSON lines instead of human text");
}

export function dataDirOf(o: CommonOptions): string {
  return resolve(o.dataDir ?? process.env[DATA_DIR_ENV] ?? DEFAULT_DATA_DIR);
}

export function passphraseOf(o: CommonOptions): string | undefined {
  if (o.passphraseEnv === undefined) return undefined;
  const value = process.env[o.passphraseEnv];
  if (value === undefined || value.length === 0)
    throw new DeviceError(
      "E_BAD_PASSPHRASE",
      `--passphrase-env ${o.passphraseEnv}: that variable is not set`,
    );
  return value;
}

export function openDevice(
  o: CommonOptions,
  extra: Pick<DeviceOptions, "grantTimeoutMs" | "registry" | "headCa" | "brokerTls" | "allowPlainMqtt"> = {},
): Promise<Device> {
  const passphrase = passphraseOf(o);
  return Device.open(dataDirOf(o), { ...(passphrase === undefined ? {} : { passphrase }), ...extra });
}

/** Reads an operator token file (first line, trimmed). */
export function readToken(file: string): string {
  let token: string;
  try {
    token = readFileSync(file, "utf8").split("\n")[0]!.trim();
  } catch (error) {
    throw new DeviceError(
      "E_BAD_ARGUMENT",
      `--token-file ${file}: ${(error as NodeJS.ErrnoException).code ?? "unreadable"}`,
    );
  }
  if (token.length === 0) throw new DeviceError("E_BAD_ARGUMENT", `--token-file ${file}: empty`);
  return token;
}

/** Environment variable naming the head's CA file when `--head-ca` is not given. */
export const HEAD_CA_ENV = "IOTGUARD_HEAD_CA";

/** The help line of `--head-ca`. */
export const HEAD_CA_HELP = `PEM file of the CA that issued the head's HTTPS certificate, or the head's self-signed certificate: the only root trusted for it (default: $${HEAD_CA_ENV})`;

/**
 * The PEM text of `--head-ca FILE` (or `$IOTGUARD_HEAD_CA`), or undefined when neither is set.
 * @throws DeviceError E_BAD_ARGUMENT when the file is unreadable or holds no PEM certificate
 */
export function readHeadCa(file: string | undefined): string | undefined {
  const path = file ?? process.env[HEAD_CA_ENV];
  if (path === undefined || path === "") return undefined;
  let pem: string;
  try {
    pem = readFileSync(path, "utf8");
  } catch (error) {
    throw new DeviceError(
      "E_BAD_ARGUMENT",
      `--head-ca ${path}: ${(error as NodeJS.ErrnoException).code ?? "unreadable"}`,
    );
  }
  if (!pem.includes("-----BEGIN CERTIFICATE-----"))
    throw new DeviceError("E_BAD_ARGUMENT", `--head-ca ${path}: no PEM certificate in it`);
  return pem;
}

/** Environment variables of the broker TLS flags: the same the cluster head reads. */
export const BROKER_CA_ENV = "IOTGUARD_BROKER_CA";
export const BROKER_CERT_ENV = "IOTGUARD_BROKER_CERT";
export const BROKER_KEY_ENV = "IOTGUARD_BROKER_KEY";
export const ALLOW_PLAIN_MQTT_ENV = "IOTGUARD_ALLOW_PLAIN_MQTT";

/** The flags that say how the device reaches its broker (see {@link brokerOptionsOf}). */
export interface BrokerFlags {
  brokerUrl?: string;
  brokerCa?: string;
  brokerCert?: string;
  brokerKey?: string;
  allowPlainMqtt?: boolean;
}

/** Adds --broker-url, --broker-ca, --broker-cert, --broker-key and --allow-plain-mqtt to a command. */
export function withBroker(cmd: Command): Command {
  return cmd
    .option("--broker-url <url>", "MQTT broker (default: the pinned one)")
    .option(
      "--broker-ca <file>",
      `PEM file of the CA that issued the broker's certificate, for an mqtts:// broker: the only root trusted for it (default: $${BROKER_CA_ENV}, else Node's public roots)`,
    )
    .option(
      "--broker-cert <file>",
      `PEM client certificate for a broker that requires one, with --broker-key (default: $${BROKER_CERT_ENV})`,
    )
    .option(
      "--broker-key <file>",
      `PEM private key of --broker-cert, mode 0600 (default: $${BROKER_KEY_ENV})`,
    )
    .option(
      "--allow-plain-mqtt",
      `connect to a plaintext mqtt:// broker that is not on this machine: the broker credential and every topic name then cross the network in clear (default: $${ALLOW_PLAIN_MQTT_ENV} = true)`,
    );
}

/**
 * The device options for `--broker-ca`, `--broker-cert`, `--broker-key` (or their environment
 * variables) and `--allow-plain-mqtt`.
 * @throws DeviceError E_BAD_ARGUMENT naming the flag when a file is unreadable, not PEM, a key
 *   open to other users, or not the certificate's key
 */
export function brokerOptionsOf(f: BrokerFlags): Pick<DeviceOptions, "brokerTls" | "allowPlainMqtt"> {
  const pick = (flag: string | undefined, env: string) =>
    flag ?? (process.env[env] === "" ? undefined : process.env[env]);
  let brokerTls: BrokerTls | undefined;
  try {
    brokerTls = readBrokerTlsFiles(
      {
        ca: pick(f.brokerCa, BROKER_CA_ENV),
        cert: pick(f.brokerCert, BROKER_CERT_ENV),
        key: pick(f.brokerKey, BROKER_KEY_ENV),
      },
      BROKER_TLS_FLAGS,
    );
  } catch (error) {
    if (error instanceof MqttTransportError) throw new DeviceError("E_BAD_ARGUMENT", error.message);
    throw error;
  }
  const allowPlainMqtt = f.allowPlainMqtt === true || process.env[ALLOW_PLAIN_MQTT_ENV] === "true";
  return { ...(brokerTls ? { brokerTls } : {}), ...(allowPlainMqtt ? { allowPlainMqtt } : {}) };
}

/** Prints one result: `human` as is, or `json` as one JSON line (bigints as strings). */
export function print(o: CommonOptions, human: string, json: Record<string, unknown>): void {
  if (o.json)
    process.stdout.write(`${JSON.stringify(json, (_k, v) => (typeof v === "bigint" ? v.toString() : v))}\n`);
  else process.stdout.write(`${human}\n`);
}

/** Parses a decimal-degree coordinate into micro-degrees. */
export function microdegrees(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new DeviceError("E_BAD_ARGUMENT", `${name}: not a number (${value})`);
  return Math.round(n * 1e6);
}

/** The flags that say where the device reads its head from (see {@link registryOf}). */
export interface ChainFlags {
  rpcUrl?: string;
  deployment?: string;
  registry?: string;
  headAddress?: string;
}

/** Adds --rpc-url, --deployment and --registry to a command. */
export function withChain(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        "--rpc-url <url>",
        `JSON-RPC URL of the chain holding the registry (default: $${RPC_URL_ENV} or ${DEFAULT_RPC_URL})`,
      ),
    )
    .addOption(
      new Option(
        "--deployment <file>",
        `deployment file naming the registry (default: $${DEPLOYMENT_ENV}, or deployments/localhost.json when it exists)`,
      ).conflicts("registry"),
    )
    .addOption(new Option("--registry <0x…>", "address of the DeviceRegistry (instead of --deployment)"));
}

/**
 * The registry the device reads its head from. `--registry`, `--deployment` (or
 * `$IOTGUARD_DEPLOYMENT`) and `--rpc-url` choose it; with none of them, deployments/localhost.json
 * is used when it exists — unless `--head-address` is given, which is then the only anchor.
 * Never a fallback to `/health`: with no registry and no head address the SDK refuses to join.
 * @throws DeviceError E_BAD_ARGUMENT for a named deployment file that is missing or invalid
 */
export function registryOf(f: ChainFlags): RegistryAnchor | undefined {
  const rpcUrl = f.rpcUrl ?? process.env[RPC_URL_ENV] ?? DEFAULT_RPC_URL;
  if (f.registry !== undefined) return { rpcUrl, address: f.registry };
  const named = f.deployment ?? process.env[DEPLOYMENT_ENV];
  if (named === undefined && f.rpcUrl === undefined && f.headAddress !== undefined) return undefined;
  const file = resolve(named ?? DEFAULT_DEPLOYMENT_FILE);
  let deployment: ReturnType<typeof readDeployment>;
  try {
    deployment = readDeployment(file);
  } catch (error) {
    throw new DeviceError("E_BAD_ARGUMENT", `--deployment ${file}: ${(error as Error).message}`);
  }
  if (deployment) return { rpcUrl, address: deployment.address, chainId: deployment.chainId };
  if (named !== undefined || f.rpcUrl !== undefined)
    throw new DeviceError(
      "E_BAD_ARGUMENT",
      `--deployment ${file}: no such file; deploy the registry (\`npm run deploy\`) or name it with --deployment FILE or --registry ADDRESS`,
    );
  return undefined;
}
