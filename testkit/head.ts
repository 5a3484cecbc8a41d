/** A real cluster head in this process, on free ports, with one temp directory of its own, for integration tests. */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { generateIdentity, type Identity, signEnrollmentProof, toHex } from "../protocol";
import { writeDeployment } from "../chain/deployment-file";
import { loadConfig, type SettingName } from "../services/cluster-head/config";
import { type RunningHead, startClusterHead } from "../services/cluster-head/head";
import type { TestChain } from "./chain";

/** A position inside the test heads' cluster (centre 0, 0, radius 2,000,000 µ°; see {@link startTestHead}). */
export const INSIDE = { lat: 500_000, lon: -300_000 } as const;

export interface TestHead extends RunningHead {
  adminToken: string;
  /**
   * The head's own temp directory: its deployment file, its data directory (unless the caller
   * gave one) and any scratch file a test puts there; deleted by {@link TestHead.destroy}.
   */
  dir: string;
  dataDir: string;
  flags: Partial<Record<SettingName, string>>;
  /** Operator request to the head. */
  operator(method: string, path: string, body?: unknown): Promise<Response>;
  /** Binary protocol request to the head. */
  post(path: string, bytes?: Uint8Array): Promise<Response>;
  /** Stops the head and deletes its temp directory and its data directory. */
  destroy(): Promise<void>;
}

/**
 * Starts a real cluster head in this process on free ports, with every file it writes inside one
 * new temp directory. Test defaults: the index polls every 50 ms, radius 2,000,000 µ° around (0, 0).
 * @param flags settings that replace the defaults (a `dataDir` given here is deleted by destroy too)
 * @param logLines when given, the head's log lines (debug and up) are pushed here
 * @throws what {@link startClusterHead} throws, after deleting the temp directory
 */
export async function startTestHead(
  chain: TestChain,
  flags: Partial<Record<SettingName, string>> = {},
  logLines?: string[],
  now?: () => number,
): Promise<TestHead> {
  const dir = mkdtempSync(join(tmpdir(), "iotguard-head-"));
  const dataDir = flags.dataDir ?? join(dir, "data");
  const remove = () => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  };
  const deploymentFile = join(dir, "deployment.json");
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
  let head: RunningHead;
  try {
    writeDeployment(deploymentFile, chain.deployment);
    head = await startClusterHead(loadConfig(allFlags, {}), { logger, ...(now ? { now } : {}) });
  } catch (error) {
    remove();
    throw error;
  }
  return {
    ...head,
    adminToken,
    dir,
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
      remove();
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
