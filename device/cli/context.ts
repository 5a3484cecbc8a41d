/**
 * What every CLI command shares: resolving the data directory and passphrase, reading the token
 * file, and printing human lines or JSON lines. Secrets are read, never printed.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Command, Option } from "commander";
import { Device } from "../sdk/device";
import { DeviceError } from "../sdk/errors";

export const DATA_DIR_ENV = "IOTGUARD_DEVICE_DIR";
export const DEFAULT_DATA_DIR = ".data/device";

export interface CommonOptions {
  dataDir?: string;
  passphraseEnv?: string;
  json?: boolean;
}

/** Adds --data-dir, --passphrase-env and --json to a command. */
export function withCommon(cmd: Command): Command {
  return cmd
    .addOption(
      new Option("--data-dir <dir>", `device data directory (default: $${DATA_DIR_ENV} or ${DEFAULT_DATA_DIR})`),
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
    throw new DeviceError("E_BAD_PASSPHRASE", `--passphrase-env ${o.passphraseEnv}: that variable is not set`);
  return value;
}

export function openDevice(o: CommonOptions, extra: { grantTimeoutMs?: number } = {}): Promise<Device> {
  const passphrase = passphraseOf(o);
  return Device.open(dataDirOf(o), { ...(passphrase === undefined ? {} : { passphrase }), ...extra });
}

/** Reads an operator token file (first line, trimmed). */
export function readToken(file: string): string {
  let token: string;
  try {
    token = readFileSync(file, "utf8").split("\n")[0]!.trim();
  } catch (error) {
    throw new DeviceError("E_BAD_ARGUMENT", `--token-file ${file}: ${(error as NodeJS.ErrnoException).code ?? "unreadable"}`);
  }
  if (token.length === 0) throw new DeviceError("E_BAD_ARGUMENT", `--token-file ${file}: empty`);
  return token;
}

/** Prints one result: `human` as is, or `json` as one JSON line (bigints as strings). */
export function print(o: CommonOptions, human: string, json: Record<string, unknown>): void {
  if (o.json) process.stdout.write(`${JSON.stringify(json, (_k, v) => (typeof v === "bigint" ? v.toString() : v))}\n`);
  else process.stdout.write(`${human}\n`);
}

/** Parses a decimal-degree coordinate into micro-degrees. */
export function microdegrees(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new DeviceError("E_BAD_ARGUMENT", `${name}: not a number (${value})`);
  return Math.round(n * 1e6);
}
