/**
 * TLS material for `mqtts://` brokers: the CA trusted for the broker and an optional client
 * certificate, as PEM, and the one place that reads them from files (the head's `--broker-ca`,
 * `--broker-cert`, `--broker-key`; the CLI's flags of the same names). The key file must be
 * private (mode 0600), like every other secret file of iotguard (docs/mqtt.md § TLS).
 * @module
 */
import { readFileSync, statSync } from "node:fs";
import { createSecureContext } from "node:tls";
import { MqttTransportError } from "./errors";

/** What {@link MqttTransport.connect} needs for TLS, as PEM text. */
export interface BrokerTls {
  /**
   * CA certificate(s) that issued the broker's certificate: then the only roots trusted for it.
   * Without it, Node's bundled public roots are used. Either way the certificate must name the
   * URL's host (IP address or DNS name): there is no way to turn the check off.
   */
  ca?: string;
  /** Client certificate chain (leaf first), for a broker that requires one (`require_certificate`). */
  cert?: string;
  /** Private key of {@link cert}. Secret: never logged. */
  key?: string;
}

/** Paths of the PEM files, as given by the operator. */
export interface BrokerTlsFiles {
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
}

/** How the caller names each file in its errors (a flag, an environment variable, an option). */
export interface BrokerTlsFileNames {
  ca: string;
  cert: string;
  key: string;
}

/** The head's and the CLI's names for the three files. */
export const BROKER_TLS_FLAGS: BrokerTlsFileNames = {
  ca: "--broker-ca",
  cert: "--broker-cert",
  key: "--broker-key",
};

const PEM_CERTIFICATE = "-----BEGIN CERTIFICATE-----";

function bad(message: string): MqttTransportError {
  return new MqttTransportError("E_BAD_ARGUMENT", message);
}

function readPem(path: string, name: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw bad(`${name} ${path}: ${(error as NodeJS.ErrnoException).code ?? "unreadable"}`);
  }
}

/**
 * Reads the broker CA and the optional client certificate and key.
 * @returns undefined when no file is named
 * @throws MqttTransportError E_BAD_ARGUMENT naming the file when it is unreadable or holds no PEM
 *   certificate, when only one of cert and key is named, when the key is readable by group or
 *   others, or when the key is not the certificate's (the message never holds the key)
 */
export function readBrokerTlsFiles(
  files: BrokerTlsFiles,
  names: BrokerTlsFileNames = BROKER_TLS_FLAGS,
): BrokerTls | undefined {
  const { ca, cert, key } = files;
  if ((cert === undefined) !== (key === undefined))
    throw bad(`set both ${names.cert} and ${names.key} (a client certificate), or neither`);
  if (ca === undefined && cert === undefined) return undefined;
  const tls: BrokerTls = {};
  if (ca !== undefined) {
    tls.ca = readPem(ca, names.ca);
    if (!tls.ca.includes(PEM_CERTIFICATE)) throw bad(`${names.ca} ${ca}: no PEM certificate in it`);
  }
  if (cert !== undefined && key !== undefined) {
    tls.cert = readPem(cert, names.cert);
    if (!tls.cert.includes(PEM_CERTIFICATE)) throw bad(`${names.cert} ${cert}: no PEM certificate in it`);
    tls.key = readPem(key, names.key);
    const mode = statSync(key).mode & 0o777;
    if ((mode & 0o077) !== 0)
      throw bad(
        `${names.key} ${key} is accessible by other users (mode ${mode.toString(8)}); run: chmod 600 ${key}`,
      );
    try {
      // Throws when the key is not PEM or not the certificate's.
      createSecureContext({ cert: tls.cert, key: tls.key });
    } catch (error) {
      throw bad(
        `${names.cert} / ${names.key}: not a matching PEM certificate and key (${(error as Error).message})`,
      );
    }
  }
  return tls;
}
