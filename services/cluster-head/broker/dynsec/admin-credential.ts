/**
 * The broker admin credential (`--broker-admin-file`): one line `username:password`, the dynsec
 * admin made by `mosquitto_ctrl dynsec init`. A file, never a flag value (which `ps` would show),
 * refused like every secret file of the head when others may read it.
 */
import { readFileSync, statSync } from "node:fs";
import { SecretFileError } from "../../stores/secret-file";
import type { AdminCredential } from "./control-client";

/**
 * Reads and checks the admin credential file.
 * @throws SecretFileError E_SECRET_FILE when the file is missing, group/world accessible or not
 *   `username:password` (the message names the file, never its content)
 */
export function readAdminCredential(path: string): AdminCredential {
  let mode: number;
  try {
    mode = statSync(path).mode & 0o777;
  } catch {
    throw new SecretFileError(
      `broker admin file ${path} cannot be read: create it with one line username:password`,
    );
  }
  if ((mode & 0o077) !== 0)
    throw new SecretFileError(
      `${path} is accessible by other users (mode ${mode.toString(8)}); run: chmod 600 ${path}`,
    );
  const text = readFileSync(path, "utf8").trim();
  const colon = text.indexOf(":");
  const username = text.slice(0, colon);
  const password = text.slice(colon + 1);
  if (colon <= 0 || password.length === 0 || /[\r\n]/.test(text))
    throw new SecretFileError(`${path} is not a broker admin file: expected one line username:password`);
  return { username, password };
}
