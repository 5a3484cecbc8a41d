/**
 * An append-only journal of binary records in one directory: the cluster head's grant store
 * (services/cluster-head/stores/session-store.ts), where a level batch per grant cost a fifth of
 * the head's CPU (memtable inserts, JSON, compaction; bench `head-flags-ab.ts`, 2026-11-28).
 *
 * - **Durable group commit.** The records appended in one event-loop turn are written with one
 *   `writev` and one `fdatasync`, one group at a time; each `append` resolves only after the
 *   fdatasync of its group, and rejects (for every record of the group) when the write fails.
 * - **Framing.** A segment starts with {@link SEGMENT_MAGIC}; each record is its length (u32 LE),
 *   the CRC-32 of its payload (u32 LE) and the payload. Only the last segment can end in a torn
 *   record (a group whose fdatasync never returned, so none of it was acknowledged): the segment
 *   is cut at the first record that is torn or fails its CRC, as LevelDB's log recovery does, and
 *   the bytes cut are reported ({@link AppendJournal.tailBytesCut}).
 * - **Snapshots, not compaction.** When the segment outgrows its budget the owner's snapshot (the
 *   records that recreate its state) is written to a new segment, fsynced and renamed into place
 *   before the old one is deleted, so the newest segment alone always holds the whole state and a
 *   crash at any step leaves one complete segment to read.
 * - **After a failed write** (a full disk) the file is cut back to its last acknowledged byte
 *   before anything else is written, so nothing acknowledged ever follows a torn record.
 * @module
 */
import { Buffer } from "node:buffer";
import {
  chmodSync,
  closeSync,
  fdatasync,
  fsyncSync,
  ftruncate,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  fstatSync,
  readSync,
  renameSync,
  unlinkSync,
  open as openCallback,
  close as closeCallback,
  fsync as fsyncCallback,
  write as writeCallback,
  writeSync,
  writev,
} from "node:fs";
import { rename, rm } from "node:fs/promises";
import { promisify } from "node:util";
import { join } from "node:path";
import { setImmediate } from "node:timers";
import { crc32 } from "node:zlib";
import { fsyncDirectory } from "./fsync-directory";

/** The first bytes of every segment file: the format and its version. */
export const SEGMENT_MAGIC = Buffer.from("iotgJNL1", "latin1");
/** Bytes before each record's payload: its length and CRC-32. */
export const RECORD_HEADER_BYTES = 8;
/** The largest payload a record may have (a snapshot is split into many records). */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;
/** The default size past which the next write starts a new segment from a snapshot. */
export const DEFAULT_SEGMENT_BYTES = 16 * 1024 * 1024;

const SEGMENT_NAME = /^(\d{16})\.journal$/;
const SEGMENT_TMP_NAME = /^\d{16}\.journal\.tmp$/;
// Raw descriptors, not FileHandles: a FileHandle that is garbage-collected closes its descriptor.
const openFd = promisify(openCallback);
const closeFd = promisify(closeCallback);
const fsyncFd = promisify(fsyncCallback);
const writeFd = promisify(writeCallback);

/** The journal cannot be opened: a segment is corrupt before its end, or unreadable. */
export class JournalOpenError extends Error {
  readonly code = "E_STORAGE";
  constructor(
    readonly directory: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`the journal at ${directory} cannot be opened (${reason})`, options);
    this.name = "JournalOpenError";
  }
}

/** A write failed (a full disk, an I/O error) or the journal is closed: nothing of it was acknowledged. */
export class JournalWriteError extends Error {
  readonly code = "JOURNAL_WRITE_FAILED";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "JournalWriteError";
  }
}

/** Options of {@link AppendJournal.open}. */
export interface JournalOptions {
  /** Segment size past which a snapshot starts a new one (default {@link DEFAULT_SEGMENT_BYTES}). */
  segmentBytes?: number;
  /**
   * Told of each snapshot that failed on its own (a full disk, say): the old segment stays the
   * journal and keeps growing until a later snapshot succeeds. Not for {@link snapshotNow}, whose
   * caller gets the error.
   */
  onSnapshotFailure?: (error: JournalWriteError) => void;
}

/** Counters for metrics and benchmarks. */
export interface JournalStats {
  /** `append` calls. */
  records: number;
  /** Group writes attempted, each with one fdatasync. */
  writes: number;
  /** Snapshots written (new segments). */
  snapshots: number;
  /** Snapshots that failed (the old segment stayed in use; tried again after it grows by an eighth). */
  snapshotFailures: number;
}

interface Group {
  buffers: Buffer[];
  bytes: number;
  waiters: { resolve: () => void; reject: (error: unknown) => void }[];
}

/**
 * An open journal. Records are opaque bytes; the owner gives {@link open} a function that applies
 * each record read back, and {@link setSnapshot} a function that returns its state as records.
 * @example
 * const journal = await AppendJournal.open(dir, (record) => apply(record));
 * journal.setSnapshot(() => stateAsRecords());
 * await journal.append(encode(change)); // on disk, fsynced
 */
export class AppendJournal {
  #fd: number;
  #segment: number;
  /** Bytes of the current segment that are on disk and acknowledged (or part of its snapshot). */
  #size: number;
  /** Size of the last snapshot, so a large state is not rewritten more often than it is worth. */
  #snapshotBytes = 0;
  #snapshot: (() => Iterable<Uint8Array>) | undefined;
  #next: Group | undefined;
  #writing = false;
  /** A write failed: the file may hold a torn record past {@link #size}, cut off before the next write. */
  #failed = false;
  /** Set by {@link close}: appends and snapshots are refused from then on. */
  #closing: Promise<void> | undefined;
  /** Snapshots asked for with {@link snapshotNow} and not finished ({@link close} waits for them). */
  #snapshotsPending = 0;
  /** After a failed snapshot, the segment size before the next try (not on every write). */
  #retrySnapshotAt = 0;
  /**
   * The segment a snapshot replaced, while the directory holding the rename is not yet fsynced
   * (deleted once it is).
   */
  #staleSegment: number | undefined;
  readonly #idle: (() => void)[] = [];
  readonly #stats: JournalStats = { records: 0, writes: 0, snapshots: 0, snapshotFailures: 0 };

  private constructor(
    readonly directory: string,
    private readonly segmentBytes: number,
    fd: number,
    segment: number,
    size: number,
    private readonly onSnapshotFailure: JournalOptions["onSnapshotFailure"],
  ) {
    this.#fd = fd;
    this.#segment = segment;
    this.#size = size;
  }

  /**
   * Opens (creating when needed) the journal in `directory` (made 0700; segments are 0600) and
   * calls `apply` with every record of its newest segment, in order, up to the first record that
   * is torn or fails its CRC, where the segment is cut ({@link tailBytesCut} says how much). Older
   * segments (left by a crash during a snapshot) and unfinished snapshots are deleted. The segment
   * is streamed a MiB at a time: a record's bytes are valid only during its `apply` call.
   * @throws JournalOpenError E_STORAGE when the newest segment is not a journal, when `apply`
   *   throws (a record that passed its CRC but is not understood), or on an I/O error
   */
  static async open(
    directory: string,
    apply: (record: Buffer) => void,
    options: JournalOptions = {},
  ): Promise<AppendJournal> {
    const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    if (!Number.isInteger(segmentBytes) || segmentBytes < 1)
      throw new RangeError("segmentBytes: expected a positive integer");
    let fd: number | undefined;
    try {
      mkdirSync(directory, { recursive: true, mode: 0o700 });
      chmodSync(directory, 0o700);
      const names = readdirSync(directory);
      for (const name of names) if (SEGMENT_TMP_NAME.test(name)) unlinkSync(join(directory, name));
      const segments = names
        .map((name) => SEGMENT_NAME.exec(name)?.[1])
        .filter((n): n is string => n !== undefined)
        .map(Number)
        .sort((a, b) => a - b);
      const newest = segments.at(-1);
      if (newest === undefined) {
        fd = createSegment(directory, 1);
        return new AppendJournal(
          directory,
          segmentBytes,
          fd,
          1,
          SEGMENT_MAGIC.length,
          options.onSnapshotFailure,
        );
      }
      const path = segmentPath(directory, newest);
      const { size, total } = replaySegment(path, apply);
      fd = openSync(path, "r+");
      if (size < total) {
        ftruncateSync(fd, size);
        fsyncSync(fd);
      }
      // A crash after a snapshot was renamed into place but before the segment it replaces was deleted.
      for (const older of segments.slice(0, -1)) unlinkSync(segmentPath(directory, older));
      const journal = new AppendJournal(directory, segmentBytes, fd, newest, size, options.onSnapshotFailure);
      journal.tailBytesCut = total - size;
      return journal;
    } catch (error) {
      if (fd !== undefined) closeSync(fd);
      if (error instanceof JournalOpenError) throw error;
      throw new JournalOpenError(directory, (error as Error).message, { cause: error });
    }
  }

  /**
   * Bytes cut off the end of the segment at open: a torn group (written, never acknowledged), or
   * records past a corrupt one, which the journal cannot tell apart; worth a warning when not 0.
   */
  tailBytesCut = 0;

  /**
   * The function that returns the owner's whole state as records, for the next snapshot. It is
   * called between two writes, in a later event-loop turn than the last acknowledgement, so every
   * acknowledged record has been applied by its caller (whose continuation ran meanwhile). Its
   * records are read to the end in that same turn, so a generator over the live state sees one
   * state.
   */
  setSnapshot(snapshot: () => Iterable<Uint8Array>): void {
    this.#snapshot = snapshot;
  }

  /**
   * Appends one record; resolves once it is on disk and fsynced, with the other records of this
   * event-loop turn. Records land in the order they were appended. The bytes are written as they
   * are when the group is written: do not change them after the call.
   * @throws RangeError when the record is empty or larger than {@link MAX_RECORD_BYTES}
   * @throws JournalWriteError (rejected) when the write failed or the journal is closed
   */
  append(record: Uint8Array): Promise<void> {
    if (record.length === 0 || record.length > MAX_RECORD_BYTES)
      throw new RangeError(`record: expected 1..${MAX_RECORD_BYTES} bytes`);
    if (this.#closing) return Promise.reject(new JournalWriteError("the journal is closed"));
    this.#stats.records++;
    let group = this.#next;
    if (!group) {
      group = { buffers: [], bytes: 0, waiters: [] };
      this.#next = group;
      if (!this.#writing) setImmediate(() => this.#flush());
    }
    const framed = frame(record);
    group.buffers.push(framed.header, framed.payload);
    group.bytes += framed.header.length + framed.payload.length;
    const waiters = group.waiters;
    return new Promise<void>((resolve, reject) => void waiters.push({ resolve, reject }));
  }

  /**
   * Writes a snapshot into a new segment (after the write in flight, once its callers have applied
   * it) and deletes the old one.
   * @throws JournalWriteError (rejected) when no snapshot function is set, the journal is closed,
   *   or the snapshot could not be written (the old segment then stays the journal)
   */
  snapshotNow(): Promise<void> {
    if (!this.#snapshot) return Promise.reject(new JournalWriteError("no snapshot function is set"));
    if (this.#closing) return Promise.reject(new JournalWriteError("the journal is closed"));
    this.#snapshotsPending++;
    return new Promise<void>((resolve, reject) => {
      const run = () => {
        // A later turn than the write's acknowledgement: its callers have updated their state.
        if (this.#writing) return void this.#idle.push(() => setImmediate(run));
        this.#writing = true;
        this.#rotate()
          .then(resolve, (error: unknown) =>
            reject(
              new JournalWriteError(`the snapshot failed: ${(error as Error).message}`, { cause: error }),
            ),
          )
          .finally(() => {
            this.#snapshotsPending--;
            this.#afterWrite();
          });
      };
      setImmediate(run);
    });
  }

  get stats(): Readonly<JournalStats> {
    return { ...this.#stats };
  }

  /** Bytes of the current segment (its snapshot and the records appended since). */
  get segmentSize(): number {
    return this.#size;
  }

  /**
   * Closes the journal once the records and snapshots already asked for are written; later appends
   * are refused. After a failed write the segment is cut back to what was acknowledged first.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      while (this.#writing || this.#next || this.#snapshotsPending > 0)
        await new Promise<void>((resolve) => this.#idle.push(resolve));
      try {
        if (this.#failed) {
          ftruncateSync(this.#fd, this.#size);
          fsyncSync(this.#fd);
        }
      } finally {
        closeSync(this.#fd);
      }
    })();
    return this.#closing;
  }

  #flush(): void {
    const group = this.#next;
    if (!group || this.#writing) return;
    this.#writing = true;
    // Appends of this turn join the group until the write starts (they run before this callback).
    const write = () => {
      if (this.#next === group) this.#next = undefined;
      this.#write(group);
    };
    const writeHere = () => (this.#failed ? this.#cutBack(write, group) : write());
    if (this.#snapshotDue())
      // A failed snapshot loses nothing: the old segment is still the journal, written on.
      this.#rotate().then(write, (error: unknown) => {
        this.#stats.snapshotFailures++;
        this.#retrySnapshotAt = this.#size + Math.ceil(this.segmentBytes / 8);
        try {
          this.onSnapshotFailure?.(
            new JournalWriteError(`the snapshot failed: ${(error as Error).message}`, { cause: error }),
          );
        } catch {
          // The owner's listener must not stop the write that waits.
        }
        writeHere();
      });
    else writeHere();
  }

  #snapshotDue(): boolean {
    return (
      this.#snapshot !== undefined &&
      this.#size >= Math.max(this.segmentBytes, 4 * this.#snapshotBytes, this.#retrySnapshotAt)
    );
  }

  #write(group: Group): void {
    this.#stats.writes++;
    writev(this.#fd, group.buffers, this.#size, (error, written) => {
      if (error || written !== group.bytes)
        return this.#fail(group, error ?? new Error(`short write: ${written} of ${group.bytes} bytes`));
      fdatasync(this.#fd, (syncError) => {
        if (syncError) return this.#fail(group, syncError);
        try {
          this.#syncDirectorySync(); // a snapshot's rename whose directory fsync failed
        } catch (dirError) {
          return this.#fail(group, dirError);
        }
        this.#size += group.bytes;
        for (const waiter of group.waiters) waiter.resolve();
        this.#afterWrite();
      });
    });
  }

  /**
   * A write failed: the file is cut back to its acknowledged bytes (so a restart cannot read back
   * records whose callers were told they failed), then every caller of the group is rejected. If
   * the cut fails too it is tried again before the next write and at close.
   */
  #fail(group: Group, cause: unknown): void {
    this.#failed = true;
    if (this.#next === group) this.#next = undefined;
    const error = new JournalWriteError(`the journal write failed: ${(cause as Error).message}`, { cause });
    this.#truncateToAcknowledged(() => {
      for (const waiter of group.waiters) waiter.reject(error);
      this.#afterWrite();
    });
  }

  /** Cuts the file back to its acknowledged bytes after a failed write, then writes `group`. */
  #cutBack(write: () => void, group: Group): void {
    this.#truncateToAcknowledged(() =>
      this.#failed ? this.#fail(group, new Error("cannot cut back the failed write")) : write(),
    );
  }

  /** ftruncate + fdatasync to {@link #size}; clears {@link #failed} when both succeed. */
  #truncateToAcknowledged(then: () => void): void {
    ftruncate(this.#fd, this.#size, (error) => {
      if (error) return then();
      fdatasync(this.#fd, (syncError) => {
        if (!syncError) this.#failed = false;
        then();
      });
    });
  }

  #afterWrite(): void {
    this.#writing = false;
    const idle = this.#idle.splice(0);
    for (const waiting of idle) waiting();
    if (this.#next && !this.#writing) setImmediate(() => this.#flush());
  }

  /**
   * Writes the owner's snapshot to a new segment and switches to it: a temporary file, fsynced and
   * renamed into place. The directory is fsynced before any record is acknowledged in the new
   * segment, and only then is the old one deleted (best effort: a leftover is deleted at open).
   * The snapshot is taken at once (between two writes, so it holds every acknowledged record); its
   * writes run off the main thread.
   */
  async #rotate(): Promise<void> {
    const pieces = framedInChunks(this.#snapshot?.() ?? []);
    const next = this.#segment + 1;
    const path = segmentPath(this.directory, next);
    const fd = await openFd(`${path}.tmp`, "w+", 0o600);
    let size = 0;
    try {
      for (const piece of pieces)
        for (let offset = 0; offset < piece.length;) {
          const { bytesWritten } = await writeFd(fd, piece, offset, piece.length - offset, size);
          offset += bytesWritten;
          size += bytesWritten;
        }
      await fsyncFd(fd);
      await rename(`${path}.tmp`, path);
    } catch (error) {
      await closeFd(fd).catch(() => undefined);
      await rm(`${path}.tmp`, { force: true }).catch(() => undefined);
      throw error;
    }
    // The rename is the commit point: from here the new segment is the journal (the next open
    // reads it), so the switch happens whatever follows. Until the directory is fsynced a power cut
    // may undo the rename: no record is acknowledged in the new segment before it is, and the old
    // segment is deleted only after it.
    const oldFd = this.#fd;
    this.#fd = fd;
    this.#segment = next;
    this.#size = size;
    this.#snapshotBytes = size;
    this.#retrySnapshotAt = 0;
    this.#failed = false;
    this.#stats.snapshots++;
    this.#staleSegment = next - 1;
    try {
      closeSync(oldFd);
    } catch {
      // Nothing is written through it any more.
    }
    try {
      this.#syncDirectorySync();
    } catch {
      // Tried again before the first group in the new segment is acknowledged.
    }
  }

  /**
   * fsyncs the directory if a snapshot's rename awaits it, then deletes the segment it replaced
   * (best effort). After a snapshot, and before a group is acknowledged in a new segment.
   */
  #syncDirectorySync(): void {
    if (this.#staleSegment === undefined) return;
    fsyncDirectory(this.directory);
    this.#dropStaleSegment();
  }

  #dropStaleSegment(): void {
    const stale = this.#staleSegment;
    this.#staleSegment = undefined;
    if (stale === undefined) return;
    try {
      unlinkSync(segmentPath(this.directory, stale));
    } catch {
      // The newest segment is complete and its name durable: one left behind is deleted at open.
    }
  }
}

function segmentPath(directory: string, segment: number): string {
  return join(directory, `${String(segment).padStart(16, "0")}.journal`);
}

/** Bytes of a snapshot framed into one buffer before the next is started. */
export const SNAPSHOT_CHUNK_BYTES = 1024 * 1024;

/**
 * The segment magic and the records framed into buffers of {@link SNAPSHOT_CHUNK_BYTES} (a larger
 * record gets one of its own size), taking one record at a time from `records`. A snapshot is
 * copied once, into a few large blocks, rather than held as thousands of small ones until it is
 * written. glibc maps such blocks on their own and returns them when they are freed only while its
 * mmap threshold stays fixed: the head sets it (services/cluster-head/node-flags.ts
 * `HEAD_ENVIRONMENT`), without which the pages of the first snapshot stayed with the process
 * (bench `grant`, the head's RSS row).
 */
function framedInChunks(records: Iterable<Uint8Array>): Buffer[] {
  const chunks: Buffer[] = [];
  let chunk = Buffer.allocUnsafe(SNAPSHOT_CHUNK_BYTES);
  let used = SEGMENT_MAGIC.copy(chunk, 0);
  for (const record of records) {
    if (record.length === 0 || record.length > MAX_RECORD_BYTES)
      throw new RangeError(`snapshot record: expected 1..${MAX_RECORD_BYTES} bytes`);
    const bytes = RECORD_HEADER_BYTES + record.length;
    if (used + bytes > chunk.length) {
      chunks.push(chunk.subarray(0, used));
      chunk = Buffer.allocUnsafe(Math.max(SNAPSHOT_CHUNK_BYTES, bytes));
      used = 0;
    }
    const { header, payload } = frame(record);
    used += header.copy(chunk, used);
    used += payload.copy(chunk, used);
  }
  chunks.push(chunk.subarray(0, used));
  return chunks;
}

function frame(record: Uint8Array): { header: Buffer; payload: Buffer } {
  const payload = Buffer.isBuffer(record)
    ? record
    : Buffer.from(record.buffer, record.byteOffset, record.length);
  const header = Buffer.allocUnsafe(RECORD_HEADER_BYTES);
  header.writeUInt32LE(payload.length, 0);
  header.writeUInt32LE(crc32(payload), 4);
  return { header, payload };
}

/**
 * Writes an empty segment `segment` as `<name>.tmp`, fsyncs it, renames it into place and fsyncs
 * the directory; returns its descriptor, open for writing at its end.
 */
function createSegment(directory: string, segment: number): number {
  const path = segmentPath(directory, segment);
  const fd = openSync(`${path}.tmp`, "w+", 0o600);
  try {
    writeSync(fd, SEGMENT_MAGIC, 0, SEGMENT_MAGIC.length, 0);
    fsyncSync(fd);
    renameSync(`${path}.tmp`, path);
    fsyncDirectory(directory);
    return fd;
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/** Bytes read from a segment at a time at open: its records are streamed, not read whole. */
const READ_CHUNK_BYTES = 1024 * 1024;

/**
 * Reads the segment at `path` a chunk at a time, calling `apply` on each record up to the first
 * that is torn or fails its CRC; returns the length of that intact prefix and of the file. A
 * record's bytes are valid only during its `apply` call (the next read reuses them).
 * @throws JournalOpenError when the magic is wrong or `apply` throws
 */
function replaySegment(path: string, apply: (record: Buffer) => void): { size: number; total: number } {
  const fd = openSync(path, "r");
  try {
    const total = fstatSync(fd).size;
    let buffer = Buffer.allocUnsafe(Math.min(READ_CHUNK_BYTES, Math.max(total, 1)));
    /** File offset of `buffer[0]`, and how many bytes of it were read. */
    let bufferAt = 0;
    let buffered = 0;
    /** Makes the file's bytes [at, at + n) readable in `buffer`; false when the file ends first. */
    const ensure = (at: number, n: number): boolean => {
      if (at + n > total) return false;
      if (at >= bufferAt && at + n <= bufferAt + buffered) return true;
      if (n > buffer.length) buffer = Buffer.allocUnsafe(n);
      const want = Math.min(buffer.length, total - at);
      let read = 0;
      while (read < want) {
        const got = readSync(fd, buffer, read, want - read, at + read);
        if (got === 0) break;
        read += got;
      }
      bufferAt = at;
      buffered = read;
      return read >= n;
    };
    const magic = SEGMENT_MAGIC.length;
    if (!ensure(0, magic) || !buffer.subarray(0, magic).equals(SEGMENT_MAGIC))
      throw new JournalOpenError(path, "not an iotguard journal segment, or of another version");
    let offset = magic;
    while (ensure(offset, RECORD_HEADER_BYTES)) {
      const length = buffer.readUInt32LE(offset - bufferAt);
      if (length === 0 || length > MAX_RECORD_BYTES || !ensure(offset, RECORD_HEADER_BYTES + length)) break;
      const start = offset - bufferAt + RECORD_HEADER_BYTES;
      const payload = buffer.subarray(start, start + length);
      if (crc32(payload) !== buffer.readUInt32LE(offset - bufferAt + 4)) break;
      try {
        apply(payload);
      } catch (error) {
        throw new JournalOpenError(path, `record at byte ${offset}: ${(error as Error).message}`, {
          cause: error,
        });
      }
      offset += RECORD_HEADER_BYTES + length;
    }
    return { size: offset, total };
  } finally {
    closeSync(fd);
  }
}
