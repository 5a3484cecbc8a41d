/**
 * The collector's member identity: an ordinary device (the SDK) in `<data-dir>/device`, enrolled by
 * the operator like any device and joined to the head like any device. No second trust path: frames
 * reach the collector only through sessions the head granted to both ends.
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { Device, type RegistryAnchor } from "../../device/sdk";
import { type BrokerTls, readBrokerTlsFiles } from "../../transport/mqtt";
import type { CollectorConfig } from "./config";
import { CollectorStartError } from "./errors";

const deploymentSchema = z.object({ address: z.string().regex(/^0x[0-9a-fA-F]{40}$/) });

/** The directory of the collector's device store. */
export function deviceDir(dataDir: string): string {
  return join(dataDir, "device");
}

/**
 * The registry the collector learns its head from (its trust anchor), from the deployment file.
 * @throws CollectorStartError E_CONFIG when the file is missing or does not name a registry
 */
export function registryAnchor(config: Pick<CollectorConfig, "deploymentFile" | "rpcUrl">): RegistryAnchor {
  if (!existsSync(config.deploymentFile))
    throw new CollectorStartError(
      "E_CONFIG",
      `no deployment file at ${config.deploymentFile}: run \`npm run deploy\` or pass --deployment`,
    );
  const parsed = deploymentSchema.safeParse(JSON.parse(readFileSync(config.deploymentFile, "utf8")));
  if (!parsed.success)
    throw new CollectorStartError("E_CONFIG", `${config.deploymentFile} does not name a registry address`);
  return { rpcUrl: config.rpcUrl, address: parsed.data.address };
}

/** Opens the collector's device (creating its identity when `create`). */
export async function openCollectorDevice(
  config: Pick<
    CollectorConfig,
    "dataDir" | "deploymentFile" | "rpcUrl" | "brokerCa" | "brokerCert" | "brokerKey" | "allowPlainMqtt"
  >,
  create: boolean,
): Promise<Device> {
  let brokerTls: BrokerTls | undefined;
  try {
    brokerTls = readBrokerTlsFiles(
      { ca: config.brokerCa, cert: config.brokerCert, key: config.brokerKey },
      { ca: "--broker-ca", cert: "--broker-cert", key: "--broker-key" },
    );
  } catch (error) {
    throw new CollectorStartError("E_CONFIG", (error as Error).message);
  }
  const device = await Device.open(deviceDir(config.dataDir), {
    registry: registryAnchor(config),
    ...(brokerTls ? { brokerTls } : {}),
    allowPlainMqtt: config.allowPlainMqtt,
  });
  if (!device.initialised) {
    if (!create) {
      await device.close();
      throw new CollectorStartError(
        "E_NOT_ENROLLED",
        `no collector identity in ${deviceDir(config.dataDir)}: run \`npm run collector -- init\` and have the operator enroll it`,
      );
    }
    await device.init();
  }
  return device;
}
