/**
 * cli.slow.test.ts's two CLI processes and curious broker, on the production broker set-up: a private
 * Mosquitto administered by the head through dynamic security, reached over TLS only (certificates
 * made by openssl in a temp directory). `device listen` prints what `device send` sent, and the
 * broker's own administrator, subscribed with `mosquitto_sub` to everything of the cluster, sees
 * the topics but only ciphertext.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestChain, type TestChain } from "../../testkit/chain";
import { JsonLines, runCli, spawnCli } from "../../testkit/cli";
import { joinedDevice } from "../../testkit/device";
import { startTestHead, type TestHead } from "../../testkit/head";
import { type DynsecMosquitto, startDynsecMosquitto } from "../../testkit/mosquitto-dynsec";
import { type BrokerObservation, observeWithMosquittoSub } from "../../testkit/observe-broker";
import { makeTestPki, type TestPki } from "../../testkit/pki";

const CLUSTER = 14;
const dir = mkdtempSync(join(tmpdir(), "iotguard-cli-dynsec-"));
let pki: TestPki;
let mosquitto: DynsecMosquitto;
let chain: TestChain;
let head: TestHead;
const dirA = join(dir, "a");
const dirB = join(dir, "b");
let a: string;
let b: string;

beforeAll(async () => {
  pki = makeTestPki(dir);
  mosquitto = await startDynsecMosquitto({
    tls: { caFile: pki.caCert, certFile: pki.headCert, keyFile: pki.headKey },
  });
  chain = await startTestChain();
  head = await startTestHead(chain, {
    clusterId: String(CLUSTER),
    brokerUrl: mosquitto.tlsUrl!,
    brokerCa: pki.caCert,
    brokerAdminFile: mosquitto.adminFile,
    logLevel: "silent",
  });
  // Identities and memberships through the SDK (cli.slow.test.ts covers the CLI's join); the CLI then
  // opens the same data directories.
  const devices = await Promise.all([
    joinedDevice(head, { dataDir: dirA }),
    joinedDevice(head, { dataDir: dirB }),
  ]);
  [a, b] = devices.map((d) => d.deviceId) as [string, string];
  await Promise.all(devices.map((d) => d.close()));
}, 90_000);
afterAll(async () => {
  await head?.destroy();
  await chain?.stop();
  await mosquitto?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * `mosquitto_sub` as the broker's administrator (whose dynsec role may read `#`), over TLS. Its
 * credential goes in a 0600 options file (mosquitto_sub(1): `$XDG_CONFIG_HOME/mosquitto_sub`), not
 * on a command line that `ps` shows.
 */
async function observeAsAdmin(filter: string): Promise<BrokerObservation> {
  const configHome = mkdtempSync(join(dir, "xdg-"));
  writeFileSync(
    join(configHome, "mosquitto_sub"),
    [`-u ${mosquitto.admin.username}`, `-P ${mosquitto.admin.password}`, `--cafile ${pki.caCert}`, ""].join(
      "\n",
    ),
    { mode: 0o600 },
  );
  const previous = process.env.XDG_CONFIG_HOME;
  process.env.XDG_CONFIG_HOME = configHome;
  try {
    return await observeWithMosquittoSub("127.0.0.1", mosquitto.tlsPort!, filter);
  } finally {
    if (previous === undefined) delete process.env.XDG_CONFIG_HOME;
    else process.env.XDG_CONFIG_HOME = previous;
  }
}

describe("two CLI devices through Mosquitto with dynamic security over TLS", () => {
  it("`device listen` prints what `device send` sent, and the broker's administrator sees only ciphertext", async () => {
    const env = { IOTGUARD_BROKER_CA: pki.caCert };
    const observer = await observeAsAdmin(`iotguard/c/${CLUSTER}/#`);
    const listener = spawnCli(["device", "listen", "--json", "--data-dir", dirB], env);
    const exited = new Promise<number | null>((r) => listener.once("exit", r));
    const out = new JsonLines(listener);
    const secrets = [
      `attack at dawn ${randomBytes(4).toString("hex")}`,
      `the eagle has landed ${randomBytes(4).toString("hex")}`,
    ];
    try {
      // Generous: the launcher may first rebuild dist/ when sources changed since.
      await out.waitFor((l) => l.event === "ready", "the listener to be ready", 60_000);
      for (const secret of secrets) {
        const sent = await runCli(
          ["device", "send", "--json", "--data-dir", dirA, "--to", b, "--broker-ca", pki.caCert, secret],
          {},
          60_000,
        );
        expect(sent.code, sent.stderr).toBe(0);
        const got = await out.waitFor((l) => l.event === "message" && l.text === secret, secret);
        expect(got).toMatchObject({ from: a });
      }
      expect(out.lines.filter((l) => l.event === "session-opened")).toHaveLength(1);

      const seen = Buffer.concat(await observer.stop());
      // It did watch: the frames' topic (and the relayed set-up on it) went past.
      expect(seen.toString("latin1")).toContain(`iotguard/c/${CLUSTER}/d/${b}/inbox`);
      for (const secret of secrets) {
        expect(seen.includes(Buffer.from(secret))).toBe(false);
        expect(seen.includes(Buffer.from(secret.slice(0, 8)))).toBe(false);
      }
    } finally {
      await observer.stop();
      listener.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
  }, 120_000);
});
