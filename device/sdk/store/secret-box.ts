/**
 * Secrets at rest (the device key, K_m, session keys): XChaCha20-Poly1305 under a key-encryption
 * key (KEK) with a fresh random 24-byte nonce per wrap (random nonces are safe at this size).
 *
 * - With a passphrase: KEK = scrypt(passphrase, salt, N = 2^15, r = 8, p = 1) (node:crypto); the salt and cost
 *   are stored in the database, the passphrase never is.
 * - Without one: KEK = 32 random bytes in `<dataDir>/device.key`, mode 0600 (the protection is
 *   the file mode, as for an SSH key without a passphrase).
 *
 * The AAD names the record (`iotguard/v1/device-secret/<name>`), so a wrapped K_m cannot be
 * swapped in for the device key or another session's key.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { promisify } from "node:util";
import { join } from "node:path";
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { randomBytes } from "@noble/hashes/utils.js";
import { scrypt } from "node:crypto";
import { fromHex, toHex } from "../../../protocol";
import { DeviceError } from "../errors";

/** The stored form of a wrapped secret. */
export interface WrappedSecret {
  /** 24-byte nonce, hex. */
  nonce: string;
  /** ciphertext || tag, hex. */
  sealed: string;
}

/** How the KEK is obtained; stored in the database (not secret). */
export type KdfRecord =
  { kind: "scrypt"; salt: string; N: number; r: number; p: number } | { kind: "keyfile" };

export const SCRYPT_DEFAULTS = { N: 2 ** 15, r: 8, p: 1 } as const;
export const KEYFILE_NAME = "device.key";
const scryptNode = promisify(scrypt) as (
  password: string,
  salt: Uint8Array,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;
const AAD_PREFIX = "iotguard/v1/device-secret/";
const KEK_BYTES = 32;
const NONCE_BYTES = 24;

function aad(name: string): Uint8Array {
  return new TextEncoder().encode(AAD_PREFIX + name);
}

/** Wraps and unwraps secrets under one KEK. Call {@link close} to wipe the KEK. */
export class SecretBox {
  private constructor(private readonly kek: Uint8Array) {}

  /** A new KDF record for `passphrase` (or a key file when undefined). */
  static newKdf(passphrase: string | undefined): KdfRecord {
    if (passphrase === undefined) return { kind: "keyfile" };
    return { kind: "scrypt", salt: toHex(randomBytes(16)), ...SCRYPT_DEFAULTS };
  }

  /**
   * Derives or loads the KEK.
   * @throws DeviceError E_BAD_PASSPHRASE when a passphrase is needed and missing, or given for a
   *   key-file store; E_STORAGE when the key file is missing
   */
  static async open(dataDir: string, kdf: KdfRecord, passphrase: string | undefined): Promise<SecretBox> {
    if (kdf.kind === "scrypt") {
      if (passphrase === undefined || passphrase.length === 0)
        throw new DeviceError("E_BAD_PASSPHRASE", "the stored keys are protected by a passphrase: supply it");
      // node's scrypt (RFC 7914, same output as @noble/hashes/scrypt.js) runs natively off the
      // main thread: ~0.1 s here against several seconds for the JavaScript one on a busy machine.
      const kek = (await scryptNode(passphrase, fromHex(kdf.salt), KEK_BYTES, {
        N: kdf.N,
        r: kdf.r,
        p: kdf.p,
        maxmem: 256 * kdf.N * kdf.r,
      })) as Buffer;
      return new SecretBox(new Uint8Array(kek));
    }
    if (passphrase !== undefined)
      throw new DeviceError("E_BAD_PASSPHRASE", "this data directory was initialised without a passphrase");
    const path = join(dataDir, KEYFILE_NAME);
    if (!existsSync(path)) {
      const kek = randomBytes(KEK_BYTES);
      writeFileSync(path, Buffer.from(kek), { mode: 0o600, flag: "wx" });
      return new SecretBox(kek);
    }
    const kek = new Uint8Array(readFileSync(path));
    if (kek.length !== KEK_BYTES) throw new DeviceError("E_STORAGE", `${path}: not a device key file`);
    return new SecretBox(kek);
  }

  /** Wraps `secret` for the record `name`. */
  wrap(name: string, secret: Uint8Array): WrappedSecret {
    const nonce = randomBytes(NONCE_BYTES);
    const sealed = xchacha20poly1305(this.kek, nonce, aad(name)).encrypt(secret);
    return { nonce: toHex(nonce), sealed: toHex(sealed) };
  }

  /**
   * Unwraps the record `name`.
   * @throws DeviceError E_BAD_PASSPHRASE when the tag does not verify (wrong passphrase or tampering)
   */
  unwrap(name: string, wrapped: WrappedSecret): Uint8Array {
    try {
      return xchacha20poly1305(this.kek, fromHex(wrapped.nonce), aad(name)).decrypt(fromHex(wrapped.sealed));
    } catch {
      throw new DeviceError("E_BAD_PASSPHRASE", "the stored keys cannot be opened with this passphrase");
    }
  }

  /** Wipes the KEK. */
  close(): void {
    this.kek.fill(0);
  }
}
