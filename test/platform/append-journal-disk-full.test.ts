/**
 * The journal on a real full disk (a small tmpfs the test mounts and fills): a write that does not
 * fit is rejected and cut off at once, so neither a restart nor the next write reads it back; a
 * snapshot that does not fit leaves the old segment in use; once space returns it writes again.
 * Needs root to mount the tmpfs (CI runs as root); elsewhere it fails saying so.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppendJournal, JournalWriteError } from "../../platform/append-journal";
import { fillDisk, type Filler, requireRootToMount } from "../helpers/fill-disk";

describe("AppendJournal on a full disk (tmpfs)", () => {
  const root = mkdtempSync(join(tmpdir(), "iotguard-journal-full-"));
  const mount = join(root, "mnt");
  let mounted = false;
  let filler: Filler | undefined;

  beforeAll(() => {
    requireRootToMount("test/platform/append-journal-disk-full.test.ts");
    mkdirSync(mount);
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", mount]);
    mounted = true;
  });
  afterAll(() => {
    filler?.release();
    if (mounted) execFileSync("umount", [mount]);
    rmSync(root, { recursive: true, force: true });
  });

  it("rejects what does not fit, never reads it back, keeps the old segment when a snapshot does not fit, and writes again once space returns", async () => {
    const dir = join(mount, "journal");
    const journal = await AppendJournal.open(dir, () => undefined);
    journal.setSnapshot(() => [Buffer.alloc(256 * 1024, 0x73)]);
    const acknowledged: string[] = [];
    await journal.append(Buffer.from("before"));
    acknowledged.push("before");
    filler = fillDisk(mount);

    // Records of 8 KiB until one is refused: the first may still fit in a page already allocated.
    let refused: unknown;
    for (let i = 0; i < 40 && refused === undefined; i++) {
      const record = `${i}:`.padEnd(8192, "x");
      await journal.append(Buffer.from(record)).then(
        () => void acknowledged.push(record),
        (error: unknown) => void (refused = error),
      );
    }
    expect(refused).toBeInstanceOf(JournalWriteError);
    const sizeWhenRefused = journal.segmentSize;
    await expect(journal.snapshotNow()).rejects.toBeInstanceOf(JournalWriteError);
    expect(journal.segmentSize).toBe(sizeWhenRefused); // still the old segment, as it was

    filler.release();
    filler = undefined;
    await journal.append(Buffer.from("after"));
    acknowledged.push("after");
    await journal.close();

    const read: string[] = [];
    const again = await AppendJournal.open(dir, (r) => void read.push(r.toString()));
    expect(again.tailBytesCut).toBe(0);
    expect(read).toEqual(acknowledged);
    await again.close();
  });
});
