#!/usr/bin/env node
/**
 * `npm run collector -- [command] [flags]`: the telemetry collector (docs/telemetry.md).
 * - `init`: create the collector's member identity and print what the operator enrolls;
 * - `enroll --token-file F`: enroll it through the head's REST API with an operator token;
 * - `run` (default): join, connect, store readings, serve the readings API;
 * - `export --out FILE [--device ID] [--from T] [--to T]`: stream stored readings to CSV.
 * Every setting is also an environment variable (see `--help` or the README's collector table).
 */
import { readFileSync } from "node:fs";
import { Command } from "commander";
import { settingsFromOptions } from "../../platform/settings";
import pino from "pino";
import { startCollector } from "./collector";
import { ConfigError, describeDatabase, loadConfig, SETTINGS, type SettingName } from "./config";
import { CollectorStartError } from "./errors";
import { exportCsv } from "./export-csv";
import { openCollectorDevice } from "./identity";
import { openDatabase } from "./collector";

const VERSION: string = (require("../../package.json") as { version: string }).version;

function withSettings(
  cmd: Command,
  names: readonly SettingName[] = Object.keys(SETTINGS) as SettingName[],
): Command {
  for (const name of names) {
    const spec = SETTINGS[name];
    const valueName = name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    const shownDefault =
      ("secret" in spec && spec.secret) || !("default" in spec) ? "" : ` (default: ${spec.default})`;
    cmd.option(`${spec.flag} <${valueName}>`, `${spec.description}; env ${spec.env}${shownDefault}`);
  }
  return cmd;
}

/** Prints one line and exits with the code of a known start failure; rethrows anything else. */
function fail(error: unknown): never {
  if (error instanceof ConfigError) {
    console.error(`collector: ${error.message}`);
    process.exit(2);
  }
  if (error instanceof CollectorStartError) {
    console.error(`collector: ${error.message}`);
    process.exit(error.exitCode);
  }
  const code = (error as { code?: string }).code;
  if (typeof code === "string" && code.startsWith("E_")) {
    console.error(`collector: ${code}: ${(error as Error).message}`);
    process.exit(code.endsWith("_UNREACHABLE") ? 3 : 1);
  }
  throw error;
}

const program = new Command()
  .name("collector")
  .description("iotguard telemetry collector: a cluster member that stores devices' readings in PostgreSQL");

withSettings(
  program.command("run", { isDefault: true }).description("join, connect and store readings (default)"),
).action(async (options: Record<string, string | undefined>) => {
  let collector: Awaited<ReturnType<typeof startCollector>>;
  try {
    const config = loadConfig(settingsFromOptions(SETTINGS, options));
    collector = await startCollector(config, {
      version: VERSION,
      logger: pino({ level: config.logLevel }, pino.destination(2)),
    });
    let stopping = false;
    const stop = async () => {
      if (stopping) return;
      stopping = true;
      await collector.stop();
      process.exit(0);
    };
    process.on("SIGINT", () => void stop());
    process.on("SIGTERM", () => void stop());
    console.error(
      `collector ${collector.deviceId} on ${collector.url}, storing in ${describeDatabase(config)}; API token in ${collector.tokenFile}`,
    );
  } catch (error) {
    fail(error);
  }
});

withSettings(
  program.command("init").description("create the collector's identity; print what the operator enrolls"),
  ["dataDir", "rpcUrl", "deploymentFile", "headUrl"],
).action(async (options: Record<string, string | undefined>) => {
  try {
    const config = loadConfig(settingsFromOptions(SETTINGS, options));
    const device = await openCollectorDevice(config, true);
    try {
      await device.pinHead(config.headUrl);
      console.log(
        JSON.stringify({ deviceId: device.deviceId, enrollment: await device.enrollmentRequest() }),
      );
    } finally {
      await device.close();
    }
  } catch (error) {
    fail(error);
  }
});

withSettings(
  program
    .command("enroll")
    .description("enroll the collector through the head's REST API (needs an operator token)")
    .requiredOption("--token-file <file>", "file holding an operator token with the enroll scope"),
  ["dataDir", "rpcUrl", "deploymentFile", "headUrl"],
).action(async (options: Record<string, string | undefined>) => {
  try {
    const config = loadConfig(settingsFromOptions(SETTINGS, options));
    const device = await openCollectorDevice(config, true);
    try {
      const token = readFileSync(options.tokenFile as string, "utf8").trim();
      const result = await device.enroll(config.headUrl, token);
      console.log(JSON.stringify({ deviceId: device.deviceId, ...result }));
    } finally {
      await device.close();
    }
  } catch (error) {
    fail(error);
  }
});

withSettings(
  program
    .command("export")
    .description("stream stored readings to a CSV file (or - for stdout)")
    .requiredOption("--out <file>", "CSV file to write, - for stdout")
    .option("--device <id>", "only this device (64 hex)")
    .option("--from <time>", "device time from (inclusive): epoch ms or ISO 8601")
    .option("--to <time>", "device time to (exclusive): epoch ms or ISO 8601"),
  ["dataDir", "databaseUrl", "databaseSchema", "logLevel"],
).action(async (options: Record<string, string | undefined>) => {
  try {
    const config = loadConfig(settingsFromOptions(SETTINGS, options));
    const db = await openDatabase(config);
    try {
      const n = await exportCsv(db, {
        out: options.out as string,
        ...(options.device === undefined ? {} : { device: options.device }),
        ...(options.from === undefined ? {} : { from: options.from }),
        ...(options.to === undefined ? {} : { to: options.to }),
      });
      console.error(`exported ${n} readings`);
    } finally {
      await db.close();
    }
  } catch (error) {
    fail(error);
  }
});

program.parseAsync().catch((error: Error) => {
  console.error(`collector failed: ${error.message}`);
  process.exit(1);
});
