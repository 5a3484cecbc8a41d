/**
 * Two real `iotguard` CLI processes talk through the head's embedded aedes broker and through the
 * machine's Mosquitto (a test failure with a how-to-start hint when it is not running); a curious
 * broker client (mosquitto_sub on `<prefix>/#`) sees no plaintext. Plus exit codes.
 */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeDeployment } from "../../chain/deployment-file";
import { startTestChain, type TestChain } from "../../testkit/chain";
import { JsonLines, runCli, spawnCli } from "../../testkit/cli";
import { removeDir, requireMosquitto, tempDeviceDir } from "../../testkit/device";
import { startTestHead, type TestHead } from "../../testkit/head";
import { observeWithMosquittoSub } from "../../testkit/observe-broker";

let chain: TestChain;
const heads: TestHead[] = [];
const dirs: string[] = [];
/** Where devices read their head from: this test's chain and registry (never a default file). */
let chainFlags: string[];

beforeAll(async () => {
  await requireMosquitto();
  chain = await startTestChain();
  const dir = tempDeviceDir();
  dirs.push(dir);
  const deploymentFile = join(dir, "deployment.json");
  writeDeployment(deploymentFile, chain.deployment);
  chainFlags = ["--rpc-url", chain.node.url, "--deployment", deploymentFile];
}, 60_000);

afterAll(async () => {
  for (const h of heads) await h.destroy();
  await chain?.stop();
  for (const d of dirs) removeDir(d);
});

async function ok(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Record<string, unknown>> {
  const t0 = Date.now();
  const r = await runCli([...args, "--json"], env);
  if (process.env.CLI_TIMING) console.log(args[1], Date.now() - t0);
  expect(r.code, `iotguard ${args.join(" ")}: ${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

/** init + enroll + join through the CLI; returns the device ID. */
async function cliDevice(
  dir: string,
  head: TestHead,
  tokenFile: string,
  prefix: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<string> {
  const common = ["--data-dir", dir, ...(env.DEVICE_PASS ? ["--passphrase-env", "DEVICE_PASS"] : [])];
  const { deviceId } = await ok(["device", "init", ...common], env);
  await ok(
    ["device", "enroll", "--head", head.url, "--token-file", tokenFile, ...chainFlags, ...prefix, ...common],
    env,
  );
  const joined = await ok(["device", "join", "--lat", "0.5", "--lon", "-0.3", ...chainFlags, ...common], env);
  expect(joined.suite).toBe("hybrid"); // the CLI offers the hybrid join suite by default
  return deviceId as string;
}

const BROKERS = [
  { name: "the embedded aedes broker", clusterId: "11", external: false },
  { name: "the machine's Mosquitto on 127.0.0.1:1883", clusterId: "12", external: true },
] as const;

describe.each(BROKERS)("two CLI devices through $name", ({ clusterId, external }) => {
  let head: TestHead;
  let tokenFile: string;
  const prefix = external ? `iotguard-cli-${randomBytes(5).toString("hex")}` : "iotguard";
  const prefixFlags = external ? ["--topic-prefix", prefix] : [];

  beforeAll(async () => {
    head = await startTestHead(chain, {
      clusterId,
      logLevel: "silent",
      ...(external ? { brokerUrl: "mqtt://127.0.0.1:1883", topicPrefix: prefix } : {}),
    });
    heads.push(head);
    tokenFile = join(head.dataDir, "..", `${randomBytes(4).toString("hex")}-token`);
    writeFileSync(tokenFile, `${head.adminToken}\n`, { mode: 0o600 });
  }, 60_000);

  it("`device listen` prints what `device send` sent, and a second send reuses the session with fresh numbers", async () => {
    const dirA = tempDeviceDir();
    const dirB = tempDeviceDir();
    dirs.push(dirA, dirB);
    const env = { DEVICE_PASS: "listener passphrase" };
    const [a, b] = await Promise.all([
      cliDevice(dirA, head, tokenFile, prefixFlags),
      cliDevice(dirB, head, tokenFile, prefixFlags, env),
    ]);

    const observer = external ? await observeWithMosquittoSub("127.0.0.1", 1883, `${prefix}/#`) : undefined;
    const listener = spawnCli(
      ["device", "listen", "--json", "--data-dir", dirB, "--passphrase-env", "DEVICE_PASS"],
      env,
    );
    const exited = new Promise<number | null>((r) => listener.once("exit", r));
    const out = new JsonLines(listener);
    try {
      await out.waitFor((l) => l.event === "ready", "the listener to be ready");
      const secret1 = `attack at dawn ${randomBytes(4).toString("hex")}`;
      const secret2 = `the eagle has landed ${randomBytes(4).toString("hex")}`;
      const sent1 = await ok(["device", "send", "--data-dir", dirA, "--to", b, secret1]);
      const got1 = await out.waitFor((l) => l.event === "message" && l.text === secret1, "the first message");
      expect(got1).toMatchObject({ from: a, seq: sent1.seq });
      const sent2 = await ok(["device", "send", "--data-dir", dirA, "--to", b, secret2]);
      const got2 = await out.waitFor(
        (l) => l.event === "message" && l.text === secret2,
        "the second message",
      );
      expect(got2).toMatchObject({ from: a, seq: sent2.seq });
      // The second process resumed the stored session past the reserved block: no number reused.
      expect(BigInt(got2.seq as string)).toBeGreaterThanOrEqual(BigInt(got1.seq as string) + 1024n);
      expect(out.lines.filter((l) => l.event === "session-opened")).toHaveLength(1);

      if (observer) {
        const seen = Buffer.concat(await observer.stop());
        expect(seen.length).toBeGreaterThan(0);
        expect(seen.toString("latin1")).toContain(`${prefix}/c/${clusterId}/d/${b}/inbox`);
        for (const secret of [secret1, secret2]) {
          expect(seen.includes(Buffer.from(secret))).toBe(false);
          expect(seen.includes(Buffer.from(secret.slice(0, 8)))).toBe(false);
        }
      }
    } finally {
      await observer?.stop();
      listener.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
  });
});

describe("CLI exit codes and help", () => {
  it("0 for --help, 2 for usage and missing identity, 3 with a hint for an unreachable head or chain, 1 with the code for a refusal", async () => {
    const dir = tempDeviceDir();
    dirs.push(dir);
    const helps = [
      ["--help"],
      ["device", "--help"],
      ["device", "send", "--help"],
      ["operator", "revoke", "--help"],
    ];
    const [bogus, noTo, notInit, ...helpRuns] = await Promise.all([
      runCli(["device", "bogus"]),
      runCli(["device", "send", "--data-dir", tempDeviceDir(), "hi"]), // --to missing
      runCli(["device", "status", "--data-dir", dir]),
      ...helps.map((args) => runCli(args)),
    ]);
    for (const r of helpRuns) {
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("Usage: iotguard");
    }
    expect(bogus!.code).toBe(2);
    expect(noTo!.code).toBe(2);
    expect([notInit!.code, notInit!.stderr]).toEqual([2, expect.stringContaining("E_NOT_INITIALISED")]);

    await ok(["device", "init", "--data-dir", dir]);
    const head = heads[0]!;
    const wrongToken = join(dir, "wrong-token");
    writeFileSync(wrongToken, "not-the-token");
    // One process at a time per data directory (level holds a lock).
    const anyAddress = ["--head-address", `0x${"11".repeat(20)}`];
    const unreachable = await runCli([
      "device",
      "join",
      "--head",
      "http://127.0.0.1:1",
      ...anyAddress,
      "--data-dir",
      dir,
    ]);
    const refused = await runCli([
      "device",
      "enroll",
      "--head",
      head.url,
      "--token-file",
      wrongToken,
      ...chainFlags,
      "--data-dir",
      dir,
    ]);
    const notJoined = await runCli(["device", "send", "--data-dir", dir, "--to", "ab".repeat(32), "hi"]);
    const noChain = ["--rpc-url", "http://127.0.0.1:1", "--registry", chain.deployment.address];
    const chainUnreachable = await runCli([
      "device",
      "join",
      "--head",
      head.url,
      ...noChain,
      "--data-dir",
      dir,
    ]);
    expect(chainUnreachable.code).toBe(3);
    expect(chainUnreachable.stderr).toMatch(/E_CHAIN_UNREACHABLE[\s\S]*hint: start a local chain/);
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toMatch(/E_HEAD_UNREACHABLE[\s\S]*hint: start a cluster head/);
    expect([refused.code, refused.stderr]).toEqual([1, expect.stringContaining("E_UNAUTHORIZED")]);
    expect(refused.stderr).not.toContain("not-the-token");
    expect([notJoined.code, notJoined.stderr]).toEqual([2, expect.stringContaining("E_NOT_JOINED")]);
  });
});
