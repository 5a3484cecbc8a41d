/** Reading the broker CA and client certificate files (transport/mqtt/broker-tls.ts). */
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readBrokerTlsFiles } from "../../../transport/mqtt/broker-tls";
import { makeTestPki, type TestPki } from "../../../testkit/pki";

const dir = mkdtempSync(join(tmpdir(), "iotguard-broker-tls-files-"));
let pki: TestPki;
beforeAll(() => {
  pki = makeTestPki(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("readBrokerTlsFiles", () => {
  it("returns undefined when no file is named", () => {
    expect(readBrokerTlsFiles({})).toBeUndefined();
  });

  it("reads the CA, and a client certificate with its private key", () => {
    const tls = readBrokerTlsFiles({ ca: pki.caCert, cert: pki.clientCert, key: pki.clientKey });
    expect(tls?.ca).toBe(readFileSync(pki.caCert, "utf8"));
    expect(tls?.cert).toContain("-----BEGIN CERTIFICATE-----");
    expect(tls?.key).toContain("PRIVATE KEY");
  });

  it.each([
    [{ cert: "c.pem" }, /set both --broker-cert and --broker-key/],
    [{ key: "k.pem" }, /set both --broker-cert and --broker-key/],
    [{ ca: "/nonexistent/ca.pem" }, /--broker-ca \/nonexistent\/ca\.pem: ENOENT/],
  ])("refuses %o naming the setting", (files, message) => {
    expect(() => readBrokerTlsFiles(files)).toThrow(expect.objectContaining({ code: "E_BAD_ARGUMENT" }));
    expect(() => readBrokerTlsFiles(files)).toThrow(message);
  });

  it("refuses a CA file that holds no certificate", () => {
    const notPem = join(dir, "not.pem");
    writeFileSync(notPem, "hello");
    expect(() => readBrokerTlsFiles({ ca: notPem })).toThrow(/--broker-ca .*no PEM certificate/);
  });

  it("refuses a client key that other users can read, and says how to fix it", () => {
    const open = join(dir, "open.key");
    copyFileSync(pki.clientKey, open);
    chmodSync(open, 0o644);
    expect(() => readBrokerTlsFiles({ cert: pki.clientCert, key: open })).toThrow(
      `--broker-key ${open} is accessible by other users (mode 644); run: chmod 600 ${open}`,
    );
  });

  it("refuses a key that is not the certificate's, without showing the key", () => {
    let message = "";
    try {
      readBrokerTlsFiles({ cert: pki.clientCert, key: pki.headKey });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/--broker-cert \/ --broker-key: not a matching PEM certificate and key/);
    expect(message).not.toContain("PRIVATE KEY");
  });

  it("names the files as the caller does", () => {
    expect(() =>
      readBrokerTlsFiles({ cert: "c" }, { ca: "brokerTls.ca", cert: "brokerTls.cert", key: "brokerTls.key" }),
    ).toThrow(/set both brokerTls.cert and brokerTls.key/);
  });
});
