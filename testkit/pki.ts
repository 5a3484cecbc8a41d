/**
 * Test certificates made with the `openssl` command line (Debian's openssl package; present on
 * this machine kind and in CI), for the head's HTTPS and for Mosquitto's TLS listeners: a CA, a
 * server certificate for 127.0.0.1 and localhost issued by it, a client certificate, certificates
 * that must be refused (wrong host name, expired, signed by another CA's key), an unrelated CA and
 * a self-signed certificate. EC P-256 keys (mode 0600), valid for one day.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface TestPki {
  /** The CA that issued every certificate below except the self-signed one. */
  caCert: string;
  /** A server certificate (SAN IP:127.0.0.1, DNS:localhost; serverAuth) and its key: the head's HTTPS, a broker's TLS listener. */
  headCert: string;
  headKey: string;
  /** A client certificate (CN iotguard-client; clientAuth) and its key. */
  clientCert: string;
  clientKey: string;
  /** A server certificate that names another host only (SAN DNS:broker.invalid). */
  wrongHostCert: string;
  wrongHostKey: string;
  /** A server certificate for 127.0.0.1 and localhost that expired a day before it was made. */
  expiredCert: string;
  expiredKey: string;
  /** Another CA, which issued nothing here. */
  otherCaCert: string;
  /** A self-signed certificate for 127.0.0.1 and its key, to pin as is. */
  selfSignedCert: string;
  selfSignedKey: string;
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? "";
    throw new Error(
      `openssl ${args[0]} failed (is the openssl command installed?): ${(error as Error).message} ${stderr}`,
    );
  }
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
const SERVER_EXT = "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n";

function makeCa(dir: string, name: string): void {
  openssl(
    [
      "req",
      "-x509",
      ...EC,
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.pem`,
      "-days",
      "1",
      "-subj",
      `/CN=${name}`,
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ],
    dir,
  );
}

/** A key and a certificate `<name>.pem` issued by `ca` with the extensions `ext`, valid `days` (negative: expired). */
function issue(dir: string, name: string, subject: string, ext: string, days = 1, ca = "ca"): void {
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(["req", ...EC, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject], dir);
  openssl(
    [
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      `${ca}.pem`,
      "-CAkey",
      `${ca}.key`,
      "-CAcreateserial",
      "-out",
      `${name}.pem`,
      "-days",
      String(days),
      "-extfile",
      `${name}.ext`,
    ],
    dir,
  );
}

/** Writes a fresh PKI into `dir` and returns the file paths. */
export function makeTestPki(dir: string): TestPki {
  makeCa(dir, "ca");
  makeCa(dir, "other-ca");
  issue(dir, "head", "/CN=iotguard-head", `subjectAltName=IP:127.0.0.1,DNS:localhost\n${SERVER_EXT}`);
  issue(dir, "client", "/CN=iotguard-client", "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n");
  issue(dir, "wrong-host", "/CN=broker.invalid", `subjectAltName=DNS:broker.invalid\n${SERVER_EXT}`);
  issue(
    dir,
    "expired",
    "/CN=iotguard-expired",
    `subjectAltName=IP:127.0.0.1,DNS:localhost\n${SERVER_EXT}`,
    -1,
  );
  openssl(
    [
      "req",
      "-x509",
      ...EC,
      "-keyout",
      "self.key",
      "-out",
      "self.pem",
      "-days",
      "1",
      "-subj",
      "/CN=iotguard-head-self-signed",
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
    ],
    dir,
  );
  for (const key of ["head", "client", "wrong-host", "expired", "self", "ca", "other-ca"])
    chmodSync(join(dir, `${key}.key`), 0o600);
  return {
    caCert: join(dir, "ca.pem"),
    headCert: join(dir, "head.pem"),
    headKey: join(dir, "head.key"),
    clientCert: join(dir, "client.pem"),
    clientKey: join(dir, "client.key"),
    wrongHostCert: join(dir, "wrong-host.pem"),
    wrongHostKey: join(dir, "wrong-host.key"),
    expiredCert: join(dir, "expired.pem"),
    expiredKey: join(dir, "expired.key"),
    otherCaCert: join(dir, "other-ca.pem"),
    selfSignedCert: join(dir, "self.pem"),
    selfSignedKey: join(dir, "self.key"),
  };
}
