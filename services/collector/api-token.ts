/**
 * The bearer token of the readings API: 32 random bytes (base64url) in `<data-dir>/api-token`,
 * mode 0600, created at first start. Compared in constant time.
 * @module
 */
import { randomBytes, timingSafeEqual, createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/**
 * Reads the token file, creating it (0600) when missing.
 * @throws Error when the file is readable by others (mode not 0600) or too short
 */
export function loadOrCreateApiToken(file: string): string {
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, `${randomBytes(32).toString("base64url")}\n`, { mode: 0o600, flag: "wx" });
  }
  const mode = statSync(file).mode & 0o777;
  if (mode & 0o077) {
    chmodSync(file, 0o600);
  }
  const token = readFileSync(file, "utf8").trim();
  if (token.length < 32) throw new Error(`${file}: the API token must be at least 32 characters`);
  return token;
}

/** True when `given` is the token; time independent of where they differ. */
export function tokenMatches(token: string, given: string): boolean {
  // Hashing first gives equal lengths, so the comparison leaks neither content nor length.
  const a = createHash("sha256").update(token).digest();
  const b = createHash("sha256").update(given).digest();
  return timingSafeEqual(a, b);
}
