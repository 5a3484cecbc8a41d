#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=4 --heap-growing-percent=20 --single-threaded-gc
/**
 * `npm run cluster-head -- [flags]` (built: dist/services/cluster-head/main.js, the package's
 * `iotguard-cluster-head` bin): starts a cluster head. Every flag also has an environment
 * variable (see `--help` or the README's configuration table).
 */
import { Command } from "commander";
import { settingsFromOptions } from "../../platform/settings";
import { redactBrokerUrl } from "../../transport/mqtt";
import { ConfigError, loadConfig, SETTINGS } from "./config";
import { HeadStartError, startClusterHead } from "./head";
import { HEAD_ENVIRONMENT_WORDS, missingHeadEnvironment } from "./node-flags";

const program = new Command()
  .name("cluster-head")
  .description("iotguard cluster head: enrollment, join, session grants, embedded MQTT broker");
for (const [name, spec] of Object.entries(SETTINGS)) {
  const valueName = name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  const shownDefault = spec.secret || !("default" in spec) ? "" : ` (default: ${spec.default})`;
  program.option(`${spec.flag} <${valueName}>`, `${spec.description}; env ${spec.env}${shownDefault}`);
}

program.action(async (options: Record<string, string | undefined>) => {
  let head: Awaited<ReturnType<typeof startClusterHead>>;
  try {
    head = await startClusterHead(loadConfig(settingsFromOptions(SETTINGS, options)));
  } catch (error) {
    if (
      error instanceof ConfigError ||
      error instanceof HeadStartError ||
      ["E_CHAIN_MISMATCH", "E_STORAGE", "E_SECRET_FILE", "E_DEPLOYMENT_FILE"].includes(
        (error as { code?: string }).code ?? "",
      )
    ) {
      console.error(`cluster-head: ${(error as Error).message}`);
      process.exit(2);
    }
    throw error;
  }
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await head.stop();
    process.exit(0);
  };
  // Before the ready line: whoever waits for it may stop the head right away, and must get a clean stop.
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
  const missing = missingHeadEnvironment();
  if (missing.length > 0)
    console.error(
      `cluster-head: warning: ${missing.join(", ")} not set; the head keeps more memory after its grant journal's snapshots (start it as npm run cluster-head or the iotguard-cluster-head bin do, with ${HEAD_ENVIRONMENT_WORDS.join(" ")}: docs/operations.md)`,
    );
  console.error(
    `cluster head for cluster ${head.clusterId} (${head.headAddress}) on ${head.url}, MQTT on ${redactBrokerUrl(head.brokerUrl)}` +
      (head.adminTokenFile ? `; operator token in ${head.adminTokenFile}` : ""),
  );
});

program.parseAsync().catch((error: Error) => {
  console.error(`cluster-head failed: ${error.message}`);
  process.exit(1);
});
