/**
 * Secrets at rest: files created with mode 0600 in one step (no window where they are readable),
 * and refused when they have become readable by others.
 */
import { closeSync, constants, openSync, readFileSync, statSync, writeSync } from "node:fs";

/** A secret file is missing, unreadable, malformed or too open. */
export class SecretFileError extends Error {
  readonly code = "E_SECRET_FILE";
  constructor(message: string) {
    super(message);
    this.name = "SecretFileError";
  }
}

/**
 * Reads the secret at `path`, creating it with `create()` when it does not exist.
 * @param parse - turns the file's text into the secret; throws on a malformed file
 * @param serialise - turns a new secret into the file's text
 * @returns the secret and whether it was created now
 * @throws SecretFileError when the file is group/world accessible or malformed
 */
export function loadOrCreateSecret<T>(
  path: string,
  create: () => T,
  serialise: (secret: T) => string,
  parse: (text: string) => T,
): { secret: T; created: boolean } {
  try {
    const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    const secret = create();
    try {
      writeSync(fd, serialise(secret));
    } finally {
      closeSync(fd);
    }
    return { secret, created: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new SecretFileError(
      `${path} is accessible by other users (mode ${mode.toString(8)}); run: chmod 600 ${path}`,
    );
  }
  try {
    return { secret: parse(readFileSync(path, "utf8").trim()), created: false };
  } catch (error) {
    if (error instanceof SecretFileError) throw error;
    throw new SecretFileError(`${path} is not a valid secret file`);
  }
}
