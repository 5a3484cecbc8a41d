/** A real cluster head on free ports with its own temp data directory, for integration tests. */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { toHex } from "../protocol/bytes";
import { signEnrollmentProof } from "../protocol/enrollment";
import { generateIdentity, type Identity } from "../protocol/identity";
import { writeDeployment } from "../chain/deployment-file";
import { loadConfig, type SettingName } from "../services/cluster-head/config";
import { type RunningHead, startClusterHead } from "../services/cluster-head/head";
import type { TestChain } from "./chain";

export interface TestHead extends RunningHead {
  adminToken: string;
  dataDir: string;
  flags: Partial<Record<SettingName, string>>;
  /** Operator request to the head. */
  operator(method: string, path: string, body?: unknown): Promise<Response>;
  /** Binary protocol request to the head. */
  post(path: string, bytes?: Uint8Array): Promise<Response>;
  /** Stops the head and deletes its data directory. */
  destroy(): Promise<void>;
}

export async function startTestHead(
  chain: TestChain,
  flags: Partial<Record<SettingName, string>> = {},
  logLines?: string[],
  now?: () => number,
): Promise<TestHead> {
  const dataDir = flags.dataDir ?? mkdtempSync(join(tmpdir(), "iotguard-head-"));
  const deploymentFile = join(dataDir, "..", `${toHex(randomBytes(6))}-deployment.json`);
  writeDeployment(deploymentFile, chain.deployment);
  const adminToken = flags.adminToken ?? randomBytes(32).toString("base64url");
  const allFlags: Partial<Record<SettingName, string>> = {
    rpcUrl: chain.node.url,
    deploymentFile,
    dataDir,
    port: "0",
    brokerPort: "0",
    pollIntervalMs: "50",
    logLevel: "info",
    radius: "2000000",
    adminToken,
    ...flags,
  };
  const logger = logLines
    ? pino({ level: "debug" }, { write: (line: string) => void logLines.push(line) })
    : pino({ level: "silent" });
  const head = await startClusterHead(loadConfig(allFlags, {}), { logger, ...(now ? { now } : {}) });
  return {
    ...head,
    adminToken,
    dataDir,
    flags: allFlags,
    operator: (method, path, body) =>
      fetch(`${head.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${adminToken}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
    post: (path, bytes) =>
      fetch(`${head.url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/octet-stream" },
        ...(bytes ? { body: bytes } : {}),
      }),
    async destroy() {
      await head.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A device identity with a random 32-byte ID, able to produce its enrollment request. */
export interface TestDevice {
  identity: Identity;
  deviceId: Uint8Array;
  deviceIdHex: string;
  enrollBody(clusterId: number): { deviceId: string; keyAddress: string; proof: string };
}

export function makeTestDevice(): TestDevice {
  const identity = generateIdentity();
  const deviceId = new Uint8Array(randomBytes(32));
  return {
    identity,
    deviceId,
    deviceIdHex: toHex(deviceId),
    enrollBody(clusterId) {
      const proof = signEnrollmentProof(identity.secretKey, {
        clusterId,
        deviceId,
        keyAddress: identity.address,
        keyVersion: 0,
      });
      return {
        deviceId: toHex(deviceId),
        keyAddress: `0x${toHex(identity.address)}`,
        proof: `0x${toHex(proof)}`,
      };
    },
  };
}
