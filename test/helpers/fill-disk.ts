/**
 * Fills a file system to the last byte with filler files, for tests of a real full disk (on a
 * tmpfs the test mounted). Chunks shrink from 1 MiB to 1 byte, so no gap is left a write could use.
 */
import { closeSync, openSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";

export interface Filler {
  /** Bytes written. */
  bytes: number;
  /** Deletes the filler files: the space is back. */
  release(): void;
}

/** Fills the file system holding `dir` (writes `dir/.filler-*`). */
export function fillDisk(dir: string): Filler {
  const files: string[] = [];
  let bytes = 0;
  for (let chunk = 1 << 20; chunk >= 1; chunk >>= 1) {
    const path = join(dir, `.filler-${files.length}`);
    files.push(path);
    const fd = openSync(path, "w");
    try {
      const block = Buffer.alloc(chunk, 0x66);
      for (;;) {
        try {
          bytes += writeSync(fd, block);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === "ENOSPC") break;
          throw error;
        }
      }
    } finally {
      closeSync(fd);
    }
  }
  return {
    bytes,
    release() {
      for (const path of files) rmSync(path, { force: true });
    },
  };
}

/**
 * Throws, saying how to run it, unless this process is root: a test that mounts a tmpfs to fill a
 * real disk needs it (CI runs as root).
 * @param testFile - the test's path from the repository root, for the message
 */
export function requireRootToMount(testFile: string): void {
  if (process.getuid?.() !== 0)
    throw new Error(
      `this test mounts a tmpfs to fill a real disk and must run as root (CI does); run \`npx vitest run ${testFile}\` as root`,
    );
}
