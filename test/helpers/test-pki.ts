/**
 * Test certificates made with the `openssl` command line (Debian's openssl package; present on
 * this machine kind and in CI): a CA, the head's certificate for 127.0.0.1 and localhost issued
 * by it, an unrelated CA, and a self-signed head certificate. EC P-256 keys, valid for one day.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface TestPki {
  /** The CA that issued {@link headCert}. */
  caCert: string;
  /** The head's certificate (SAN IP:127.0.0.1, DNS:localhost) and its key (mode 0600). */
  headCert: string;
  headKey: string;
  /** Another CA, which issued nothing the head serves. */
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

/** Writes a fresh PKI into `dir` and returns the file paths. */
export function makeTestPki(dir: string): TestPki {
  makeCa(dir, "ca");
  makeCa(dir, "other-ca");
  writeFileSync(
    join(dir, "head.ext"),
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
  );
  openssl(["req", ...EC, "-keyout", "head.key", "-out", "head.csr", "-subj", "/CN=iotguard-head"], dir);
  openssl(
    [
      "x509",
      "-req",
      "-in",
      "head.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "head.pem",
      "-days",
      "1",
      "-extfile",
      "head.ext",
    ],
    dir,
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
  for (const key of ["head.key", "self.key", "ca.key", "other-ca.key"]) chmodSync(join(dir, key), 0o600);
  return {
    caCert: join(dir, "ca.pem"),
    headCert: join(dir, "head.pem"),
    headKey: join(dir, "head.key"),
    otherCaCert: join(dir, "other-ca.pem"),
    selfSignedCert: join(dir, "self.pem"),
    selfSignedKey: join(dir, "self.key"),
  };
}
