/**
 * A file created, renamed or removed in a directory is durable only once the directory itself is
 * fsynced (fsync(2): "an explicit fsync() on a file descriptor for the directory is also needed").
 * @module
 */
import { closeSync, fsyncSync, openSync } from "node:fs";

/** fsyncs `directory`, so that the entries created, renamed or removed in it survive a power cut. */
export function fsyncDirectory(directory: string): void {
  const fd = openSync(directory, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
