/**
 * How the head listens: HTTPS with a certificate and key read from files, or plain HTTP on a
 * loopback address only (docs/operations.md § TLS). Plain HTTP on any other address would carry
 * the operator token and every enrollment in clear, so it needs `--allow-plain-http`.
 */
import { readFileSync, statSync } from "node:fs";
import { isIP } from "node:net";
import { createSecureContext } from "node:tls";
import type { HeadConfig } from "./config";

/** The head's HTTPS key pair, as PEM. */
export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
}

/** A TLS setting that does not work: missing file, unreadable, open key, mismatched pair, clear text on the network. */
export class TlsSetupError extends Error {
  readonly code = "E_TLS_SETUP";
  constructor(message: string) {
    super(message);
    this.name = "TlsSetupError";
  }
}

/**
 * True for an address that only this machine can reach: 127.0.0.0/8, ::1, `localhost`.
 * Any other name counts as reachable from the network (it may resolve anywhere).
 */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (bare === "localhost") return true;
  if (isIP(bare) === 4) return bare.startsWith("127.");
  if (isIP(bare) === 6)
    return bare === "::1" || /^(0{0,4}:){7}0{0,3}1$/.test(bare) || /^::ffff:127\./.test(bare);
  return false;
}

function readPem(path: string, setting: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new TlsSetupError(`${setting} ${path}: ${(error as NodeJS.ErrnoException).code ?? "unreadable"}`);
  }
}

/**
 * The key pair to serve HTTPS with, or undefined for plain HTTP.
 * @throws TlsSetupError when only one of `--tls-cert` / `--tls-key` is set, a file is unreadable,
 *   the key is readable by group or others, the pair does not match, or plain HTTP would listen
 *   on a non-loopback address without `--allow-plain-http`
 */
export function loadTls(
  config: Pick<HeadConfig, "tlsCert" | "tlsKey" | "host" | "allowPlainHttp">,
): TlsFiles | undefined {
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined))
    throw new TlsSetupError("set both --tls-cert and --tls-key (HTTPS), or neither (plain HTTP on loopback)");
  if (config.tlsCert === undefined || config.tlsKey === undefined) {
    if (!isLoopbackHost(config.host) && !config.allowPlainHttp)
      throw new TlsSetupError(
        `--host ${config.host} is reachable from the network: serve HTTPS with --tls-cert and --tls-key, ` +
          "or set --allow-plain-http to send the operator token and enrollments in clear",
      );
    return undefined;
  }
  const cert = readPem(config.tlsCert, "--tls-cert");
  const key = readPem(config.tlsKey, "--tls-key");
  const mode = statSync(config.tlsKey).mode & 0o777;
  if ((mode & 0o077) !== 0)
    throw new TlsSetupError(
      `--tls-key ${config.tlsKey} is accessible by other users (mode ${mode.toString(8)}); run: chmod 600 ${config.tlsKey}`,
    );
  try {
    // Throws when either is not PEM or the key is not the certificate's.
    createSecureContext({ cert, key });
  } catch (error) {
    throw new TlsSetupError(
      `--tls-cert / --tls-key: not a matching PEM certificate and key (${(error as Error).message})`,
    );
  }
  return { cert, key };
}
