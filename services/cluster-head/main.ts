/**
 * `npm run cluster-head -- [flags]`: starts a cluster head. Every flag also has an environment
 * variable (see `--help` or the README's configuration table).
 */
import { Command } from "commander";
import { ConfigError, loadConfig, SETTINGS, type SettingName } from "./config";
import { HeadStartError, startClusterHead } from "./head";

const program = new Command()
  .name("cluster-head")
  .description("iotguard cluster head: enrollment, join, session grants, embedded MQTT broker");
for (const [name, spec] of Object.entries(SETTINGS)) {
  const valueName = name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  const shownDefault = spec.secret || !("default" in spec) ? "" : ` (default: ${spec.default})`;
  program.option(`${spec.flag} <${valueName}>`, `${spec.description}; env ${spec.env}${shownDefault}`);
}

program.action(async (flags: Partial<Record<SettingName, string>>) => {
  let head: Awaited<ReturnType<typeof startClusterHead>>;
  try {
    head = await startClusterHead(loadConfig(flags));
  } catch (error) {
    if (
      error instanceof ConfigError ||
      error instanceof HeadStartError ||
      (error as { code?: string }).code === "E_CHAIN_MISMATCH"
    ) {
      console.error(`cluster-head: ${(error as Error).message}`);
      process.exit(2);
    }
    throw error;
  }
  console.error(
    `cluster head for cluster ${head.clusterId} (${head.headAddress}) on ${head.url}, MQTT on ${head.brokerUrl}` +
      (head.adminTokenFile ? `; operator token in ${head.adminTokenFile}` : ""),
  );
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await head.stop();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
});

program.parseAsync().catch((error: Error) => {
  console.error(`cluster-head failed: ${error.message}`);
  process.exit(1);
});
