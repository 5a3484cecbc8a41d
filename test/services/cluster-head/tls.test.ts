/**
 * The head over HTTPS (services/cluster-head/tls.ts): certificate and key from files, clients that
 * pin the CA, and no plain HTTP on an address the network can reach. Real chain, real sockets.
 */
import { execFile } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HeadClient } from "../../../device/sdk/head-client";
import { DeviceError } from "../../../device/sdk/errors";
import { HeadStartError } from "../../../services/cluster-head/head";
import { isLoopbackHost, loadTls, TlsSetupError } from "../../../services/cluster-head/tls";
import { startTestChain, type TestChain } from "../../../testkit/chain";
import { startTestHead, type TestHead } from "../../../testkit/head";
import { makeTestPki, type TestPki } from "../../helpers/test-pki";

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "iotguard-tls-"));
let pki: TestPki;
const pem = (path: string) => readFileSync(path, "utf8");

beforeAll(() => {
  pki = makeTestPki(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("where the head may listen in clear", () => {
  it.each(["127.0.0.1", "127.3.2.1", "localhost", "::1", "[::1]", "0:0:0:0:0:0:0:1"])(
    "%s is loopback",
    (host) => {
      expect(isLoopbackHost(host)).toBe(true);
    },
  );

  it.each(["0.0.0.0", "::", "192.0.2.10", "10.0.0.1", "head.example", "128.0.0.1", "::2"])(
    "%s is not",
    (host) => {
      expect(isLoopbackHost(host)).toBe(false);
    },
  );

  it("plain HTTP on a non-loopback host needs --allow-plain-http", () => {
    const base = { tlsCert: undefined, tlsKey: undefined, allowPlainHttp: false };
    expect(() => loadTls({ ...base, host: "0.0.0.0" })).toThrow(/--host 0.0.0.0 .*--allow-plain-http/);
    expect(loadTls({ ...base, host: "0.0.0.0", allowPlainHttp: true })).toBeUndefined();
    expect(loadTls({ ...base, host: "127.0.0.1" })).toBeUndefined();
  });

  it("refuses a certificate without its key, an open key file and a key that is not the certificate's", () => {
    const host = "0.0.0.0";
    const allowPlainHttp = false;
    expect(() => loadTls({ host, allowPlainHttp, tlsCert: pki.headCert, tlsKey: undefined })).toThrow(
      TlsSetupError,
    );
    expect(() => loadTls({ host, allowPlainHttp, tlsCert: undefined, tlsKey: pki.headKey })).toThrow(
      /both --tls-cert and --tls-key/,
    );
    expect(() =>
      loadTls({ host, allowPlainHttp, tlsCert: join(dir, "nope.pem"), tlsKey: pki.headKey }),
    ).toThrow(/--tls-cert .*ENOENT/);
    const openKey = join(dir, "open.key");
    copyFileSync(pki.headKey, openKey);
    chmodSync(openKey, 0o644);
    expect(() => loadTls({ host, allowPlainHttp, tlsCert: pki.headCert, tlsKey: openKey })).toThrow(
      /accessible by other users/,
    );
    expect(() => loadTls({ host, allowPlainHttp, tlsCert: pki.headCert, tlsKey: pki.selfSignedKey })).toThrow(
      /not a matching/,
    );
    expect(
      loadTls({ host, allowPlainHttp, tlsCert: pki.headCert, tlsKey: pki.headKey })?.cert.length,
    ).toBeGreaterThan(0);
  });
});

describe("a head serving HTTPS", () => {
  let chain: TestChain;
  let head: TestHead;
  let selfSigned: TestHead;

  beforeAll(async () => {
    chain = await startTestChain();
    head = await startTestHead(chain, { tlsCert: pki.headCert, tlsKey: pki.headKey });
    selfSigned = await startTestHead(chain, {
      clusterId: "2",
      tlsCert: pki.selfSignedCert,
      tlsKey: pki.selfSignedKey,
    });
  }, 60_000);
  afterAll(async () => {
    await head?.destroy();
    await selfSigned?.destroy();
    await chain?.stop();
  });

  it("announces an https URL and answers a client that pins its CA", async () => {
    expect(head.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const health = await new HeadClient(head.url, { ca: pem(pki.caCert) }).health();
    expect(health.headAddress.toLowerCase()).toBe(head.headAddress.toLowerCase());
  });

  it("answers a client that pins the head's own self-signed certificate", async () => {
    expect(selfSigned.url).toMatch(/^https:/);
    const health = await new HeadClient(selfSigned.url, { ca: pem(pki.selfSignedCert) }).health();
    expect(health.clusterId).toBe(2);
  });

  it("is refused by a client that pins another CA, or trusts only the system's roots", async () => {
    for (const client of [new HeadClient(head.url, { ca: pem(pki.otherCaCert) }), new HeadClient(head.url)]) {
      const error = await client.health().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DeviceError);
      expect((error as DeviceError).code).toBe("E_HEAD_UNREACHABLE");
      expect((error as Error).message).toMatch(/certificate this device does not trust .*--head-ca/);
    }
  });

  it("does not speak plain HTTP on its port", async () => {
    const answer = await new Promise<string>((resolve) => {
      const req = httpRequest(`${head.url.replace("https:", "http:")}/health`, (res) =>
        resolve(`status ${res.statusCode}`),
      );
      req.on("error", (error) => resolve(`error ${(error as NodeJS.ErrnoException).code ?? error.message}`));
      req.end();
    });
    expect(answer).toMatch(/^(error|status 400)/);
    expect(answer).not.toBe("status 200");
  });

  it("a client refuses to pin a CA for an http URL", () => {
    expect(() => new HeadClient("http://127.0.0.1:1", { ca: pem(pki.caCert) })).toThrow(/not https/);
  });
});

describe("a head asked to listen in clear on the network", () => {
  let chain: TestChain;

  beforeAll(async () => {
    chain = await startTestChain();
  }, 60_000);
  afterAll(async () => {
    await chain?.stop();
  });

  it("stops the cluster-head command with one line and exit code 2", async () => {
    const dataDir = join(dir, "never-created");
    const error = (await run(
      process.execPath,
      ["--import", "tsx", "services/cluster-head/main.ts", "--host", "0.0.0.0", "--data-dir", dataDir],
      {
        cwd: resolve(__dirname, "../../.."),
      },
    ).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(error.code).toBe(2);
    expect(error.stderr.trim().split("\n")).toHaveLength(1);
    expect(error.stderr).toMatch(/--host 0\.0\.0\.0 is reachable from the network: .*--allow-plain-http/);
    expect(existsSync(dataDir)).toBe(false);
  }, 30_000);

  it("refuses to start, naming --allow-plain-http, before it opens anything", async () => {
    const error = await startTestHead(chain, { host: "0.0.0.0" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HeadStartError);
    expect((error as Error).message).toMatch(/--allow-plain-http/);
  });
});
