/**
 * A broker URL with credentials (`mqtt://user:secret@host:port`) stays with its owner (issue 19):
 * the head's unauthenticated `/health` does not serve them, and a device neither stores, prints
 * nor sends anyone else's. Real parts: a hardhat node, a cluster head on a private in-process aedes
 * broker (free port, never the machine's Mosquitto), the `iotguard` CLI as child processes, level.
 */
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Device } from "../../device/sdk";
import { writeDeployment } from "../../chain/deployment-file";
import { startTestChain, type TestChain } from "../../testkit/chain";
import { runCli } from "../../testkit/cli";
import { removeDir, tempDeviceDir, waitUntil } from "../../testkit/device";
import { startTestHead, type TestHead } from "../../testkit/head";

const HEAD_PASSWORD = `secret-${randomBytes(6).toString("hex")}`;
const OTHER_PASSWORD = `hunter2-${randomBytes(6).toString("hex")}`;

let chain: TestChain;
let head: TestHead;
let server: Server;
let closeBroker: () => Promise<void>;
let port: number;
/** User names of every CONNECT the private broker saw. */
const usernames: string[] = [];
const dirs: string[] = [];
let tokenFile: string;
let chainFlags: string[];

beforeAll(async () => {
  const { Aedes } = await import("aedes");
  const broker = await Aedes.createBroker({
    authenticate: (_client, username, _password, done) => {
      usernames.push(String(username));
      done(null, true);
    },
  });
  server = createServer(broker.handle as never);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
  closeBroker = async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await new Promise<void>((resolve) => broker.close(() => resolve()));
  };

  chain = await startTestChain();
  head = await startTestHead(chain, {
    clusterId: "5",
    logLevel: "silent",
    brokerUrl: `mqtt://iotguard-head:${HEAD_PASSWORD}@127.0.0.1:${port}`,
  });
  const work = tempDeviceDir();
  dirs.push(work);
  tokenFile = join(work, "admin-token");
  writeFileSync(tokenFile, `${head.adminToken}\n`, { mode: 0o600 });
  const deploymentFile = join(work, "deployment.json");
  writeDeployment(deploymentFile, chain.deployment);
  chainFlags = ["--rpc-url", chain.node.url, "--deployment", deploymentFile];
}, 60_000);

afterAll(async () => {
  await head?.destroy();
  await closeBroker?.();
  await chain?.stop();
  for (const d of dirs) removeDir(d);
});

/** Every byte of every file under `dir` (level's log and tables hold the records as written). */
function allBytes(dir: string): Buffer {
  const parts: Buffer[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    parts.push(statSync(path).isDirectory() ? allBytes(path) : readFileSync(path));
  }
  return Buffer.concat(parts);
}

async function cli(args: string[]): Promise<string> {
  const r = await runCli(args);
  expect(r.code, `iotguard ${args.join(" ")}: ${r.stderr}`).toBe(0);
  return r.stdout + r.stderr;
}

describe("a head whose broker URL carries its credential", () => {
  it("connected to the broker with it, and /health shows the URL without it", async () => {
    expect(usernames).toContain("iotguard-head");
    const res = await fetch(`${head.url}/health`);
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).not.toContain(HEAD_PASSWORD);
    expect(text).not.toContain("iotguard-head");
    expect(JSON.parse(text).broker.url).toBe(`mqtt://127.0.0.1:${port}`);
  });

  it("devices enrolled and joined through the CLI store and print no credential, and connect with their own", async () => {
    const dir = tempDeviceDir();
    const withOther = tempDeviceDir();
    dirs.push(dir, withOther);
    const output: string[] = [];
    for (const [d, extra] of [
      [dir, []],
      [withOther, ["--broker-url", `mqtt://someone:${OTHER_PASSWORD}@127.0.0.1:${port}`]],
    ] as const) {
      const common = ["--data-dir", d];
      output.push(await cli(["device", "init", ...common]));
      output.push(
        await cli([
          "device",
          "enroll",
          "--head",
          head.url,
          "--token-file",
          tokenFile,
          ...chainFlags,
          ...common,
        ]),
      );
      output.push(await cli(["device", "join", ...chainFlags, ...extra, ...common]));
      output.push(await cli(["device", "status", ...common]));
      const status = await cli(["device", "status", "--json", ...common]);
      output.push(status);
      expect(JSON.parse(status).head.brokerUrl).toBe(`mqtt://127.0.0.1:${port}`);
    }
    for (const secret of [HEAD_PASSWORD, OTHER_PASSWORD]) {
      expect(output.join("\n")).not.toContain(secret);
      for (const d of [dir, withOther]) expect(allBytes(d).includes(secret)).toBe(false);
    }
    expect(allBytes(withOther).includes("someone")).toBe(false);

    // The pinned URL works, and each device sends its own credential (user name = device ID).
    for (const d of [dir, withOther]) {
      const device = await Device.open(d);
      try {
        await device.connect();
        expect((await device.status()).connected).toBe(true);
        await waitUntil(() => usernames.includes(device.deviceId), "the device's CONNECT");
      } finally {
        await device.close();
      }
    }
    expect(usernames).not.toContain("someone");
  });
});
