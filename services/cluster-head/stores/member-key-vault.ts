/**
 * Member keys K_m, kept apart from the level database so that ending a membership destroys its key.
 *
 * level deletes by appending a tombstone: the old value stays in the write-ahead log and in table
 * files until a compaction happens to rewrite them, and a superseded K_m read from there opens
 * every grant sealed under it (docs/threat-model.md § Forward secrecy). Here every key lives in a
 * fixed 64-byte slot of one file, `keys.bin`, written in place: a put writes its slot, a delete
 * overwrites the slot with zeros, and each commit ends with one fdatasync of that file. Nothing is
 * appended or renamed, so no other copy of a key is left behind by the vault itself (a file
 * rewritten and renamed over, as the shard files of earlier versions were, leaves the old bytes in
 * freed blocks). The folder is 0700 and the file 0600, like the head's other secrets.
 *
 * A slot is `1 ‖ 0 0 0 ‖ kid (4) ‖ K_m (32) ‖ check (8) ‖ 16 zero bytes`, check = the first 8 bytes
 * of SHA-256(label ‖ kid ‖ K_m); a free slot is all zeros. Slots never straddle a 512-byte sector,
 * and a slot torn by a power cut (its write was never acknowledged) fails the check: it is read as
 * free and zeroed at open.
 */
import { createHash } from "node:crypto";
import {
  closeSync,
  fdatasync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeSync,
  constants as fsConstants,
} from "node:fs";
import { join } from "node:path";
import { fromHex, toHex } from "../../../protocol";
import { fsyncDirectory } from "../../../platform/fsync-directory";
import { type Deferred, handledDeferred } from "../../../platform/deferred";

/** The key file in the vault's folder. */
const KEY_FILE = "keys.bin";
/** Bytes per slot: a divisor of 512, so a slot never straddles a sector. */
const SLOT = 64;
/** Where each field sits in a slot. */
const Slot = { USED: 0, KID: 4, KEY: 8, CHECK: 40, END: 48 } as const;
const KID_SIZE = 4;
const KEY_SIZE = 32;
const CHECK_SIZE = 8;
/** Domain label of a slot's check. */
const SLOT_CHECK_LABEL = Buffer.from("iotguard/v1/member-key-slot");
/** The file grows by at least this many slots (then doubles), so its size seldom changes. */
const MIN_CAPACITY = 1024;
/** Shard files of versions before the slot file: read once, moved into slots, then removed. */
const LEGACY_SHARD = /^([0-9a-f]{2})\.json(\.tmp)?$/;
const KEY_HEX = /^[0-9a-f]{64}$/;
const KID_HEX = /^[0-9a-f]{8}$/;

/** A key file that is not what this store writes: the data directory was damaged or edited. */
export class MemberKeyVaultError extends Error {
  readonly code = "E_STORAGE";
  constructor(message: string) {
    super(message);
    this.name = "MemberKeyVaultError";
  }
}

/** A write that callers wait for; settled once by the commit that takes it (callers may all have
 * gone, a failed join: its rejection is handled). */
type Commit = Deferred;

export class MemberKeyVault {
  /** The file's slots as memory holds them (written or about to be). */
  private image: Buffer;
  /** kid (hex) → slot. */
  private readonly slots = new Map<string, number>();
  /** Free slots below {@link next}. */
  private readonly free: number[] = [];
  /** The lowest slot never used. */
  private next = 0;
  /** Slots the file is long (grown with ftruncate before a commit writes past it). */
  private fileSlots: number;
  /** Slots changed in memory since the commit that is writing now began. */
  private readonly dirty = new Set<number>();
  /** The commit that will take the dirty slots, once the one writing now is done. */
  private queued: Commit | undefined;
  /** The commit writing now (resolved when none). */
  private writing: Promise<void> = Promise.resolve();
  /** Commits written and slots written by them, for tests and metrics. */
  readonly stats = { commits: 0, slotWrites: 0 };

  private constructor(
    private readonly file: string,
    image: Buffer,
  ) {
    this.image = image;
    this.fileSlots = image.length / SLOT;
  }

  /**
   * Opens (creating when needed) the vault in `directory`: reads the key file, zeroes torn slots,
   * and moves the keys of an earlier version's shard files into slots.
   * @throws MemberKeyVaultError when the key file or a shard file is not what the vault writes
   */
  static open(directory: string): MemberKeyVault {
    mkdirSync(directory, { recursive: true, mode: 0o700 });
    const file = join(directory, KEY_FILE);
    const created = createIfMissing(file);
    const bytes = readFileSync(file);
    if (bytes.length % SLOT !== 0)
      throw new MemberKeyVaultError(
        `member key file ${file} is not whole slots; restore the data directory from a backup`,
      );
    const vault = new MemberKeyVault(file, bytes);
    const torn = vault.load();
    const legacy = readdirSync(directory).filter((name) => LEGACY_SHARD.test(name));
    for (const name of legacy) {
      if (name.endsWith(".tmp")) continue; // an interrupted rewrite: never renamed, never current
      for (const [kid, key] of parseShard(join(directory, name))) vault.place(kid, fromHex(key));
    }
    if (torn.length > 0 || vault.dirty.size > 0) {
      for (const slot of torn) vault.dirty.add(slot);
      vault.writeDirtySync();
    }
    // The keys are in slots (fsynced above) before the shard files that held them go.
    for (const name of legacy) rmSync(join(directory, name), { force: true });
    if (created || legacy.length > 0) fsyncDirectory(directory);
    return vault;
  }

  /** K_m of `kid`, or undefined. A fresh copy: the caller may wipe it. */
  get(kid: string): Uint8Array | undefined {
    const slot = this.slots.get(kid);
    if (slot === undefined) return undefined;
    const at = slot * SLOT + Slot.KEY;
    return Uint8Array.from(this.image.subarray(at, at + KEY_SIZE));
  }

  /** Every key id in the vault. */
  kids(): string[] {
    return [...this.slots.keys()];
  }

  /** Stores K_m of `kid`; durable (fdatasynced) when it resolves. */
  async put(kid: string, memberKey: Uint8Array): Promise<void> {
    if (!KID_HEX.test(kid)) throw new RangeError("kid: 8 hex digits");
    if (memberKey.length !== KEY_SIZE) throw new RangeError("memberKey: 32 bytes");
    this.place(kid, memberKey);
    await this.commitDirty();
  }

  /** Destroys the keys of `kids` (unknown ones are ignored); durable when it resolves. */
  async delete(kids: Iterable<string>): Promise<void> {
    let touched = false;
    for (const kid of kids) {
      const slot = this.slots.get(kid);
      if (slot === undefined) continue;
      this.slots.delete(kid);
      this.image.fill(0, slot * SLOT, (slot + 1) * SLOT);
      this.free.push(slot);
      this.dirty.add(slot);
      touched = true;
    }
    if (touched) await this.commitDirty();
  }

  /** Writes `kid`'s slot in memory (its own slot when it has one) and marks it dirty. */
  private place(kid: string, memberKey: Uint8Array): void {
    let slot = this.slots.get(kid);
    if (slot === undefined) {
      slot = this.free.pop() ?? this.grow();
      this.slots.set(kid, slot);
    }
    encodeSlot(this.image, slot, fromHex(kid), memberKey);
    this.dirty.add(slot);
  }

  /** A slot past every used one, growing the image when it is full. */
  private grow(): number {
    const slot = this.next++;
    if ((slot + 1) * SLOT > this.image.length) {
      const capacity = Math.max(MIN_CAPACITY, (this.image.length / SLOT) * 2);
      const image = Buffer.alloc(capacity * SLOT);
      this.image.copy(image);
      this.image.fill(0);
      this.image = image;
    }
    return slot;
  }

  /** Reads the slots of the image; returns the torn ones (read as free, to be zeroed). */
  private load(): number[] {
    const torn: number[] = [];
    const count = this.image.length / SLOT;
    for (let slot = 0; slot < count; slot++) {
      const at = slot * SLOT;
      if (isZero(this.image, at, at + SLOT)) continue;
      const kid = this.image.subarray(at + Slot.KID, at + Slot.KID + KID_SIZE);
      const key = this.image.subarray(at + Slot.KEY, at + Slot.KEY + KEY_SIZE);
      const check = this.image.subarray(at + Slot.CHECK, at + Slot.CHECK + CHECK_SIZE);
      if (this.image[at + Slot.USED] !== 1 || !slotCheck(kid, key).equals(check)) {
        this.image.fill(0, at, at + SLOT);
        torn.push(slot);
        continue;
      }
      const kidHex = toHex(kid);
      if (this.slots.has(kidHex))
        throw new MemberKeyVaultError(
          `member key file ${this.file} holds key id ${kidHex} twice; restore the data directory from a backup`,
        );
      this.slots.set(kidHex, slot);
      this.next = slot + 1;
    }
    for (let slot = 0; slot < this.next; slot++)
      if (isZero(this.image, slot * SLOT, (slot + 1) * SLOT)) this.free.push(slot);
    // Highest first, so that pop() reuses the lowest free slot and the file stays dense.
    this.free.reverse();
    return torn;
  }

  /**
   * Group commit: every change made while a commit is writing waits for the next one, which writes
   * each changed slot once (contiguous slots in one write) and fdatasyncs the file once. Under a
   * burst of joins that is one fdatasync per round instead of one per key.
   */
  private commitDirty(): Promise<void> {
    if (this.queued) return this.queued.promise;
    const commit = handledDeferred();
    this.queued = commit;
    this.writing = this.writing.then(async () => {
      // From here on, changes go to the next commit: this one writes what memory holds now.
      this.queued = undefined;
      const slots = [...this.dirty];
      this.dirty.clear();
      try {
        await this.writeSlots(slots);
        commit.resolve();
      } catch (error) {
        // Not written: these slots stay dirty, so the next commit tries them again.
        for (const slot of slots) this.dirty.add(slot);
        commit.reject(error);
      }
    });
    return commit.promise;
  }

  /**
   * Writes `slots` into the page cache at once (a few microseconds each, on this thread: the bytes
   * are those of this moment), then waits for one fdatasync in libuv's pool.
   */
  private async writeSlots(slots: number[]): Promise<void> {
    const fd = openSync(this.file, "r+");
    try {
      this.writeSlotsTo(fd, slots);
      await new Promise<void>((resolve, reject) =>
        fdatasync(fd, (error) => (error ? reject(error) : resolve())),
      );
    } finally {
      closeSync(fd);
    }
    this.stats.commits++;
    this.stats.slotWrites += slots.length;
  }

  /** The dirty slots written and fdatasynced before returning (open only). */
  private writeDirtySync(): void {
    const fd = openSync(this.file, "r+");
    try {
      this.writeSlotsTo(fd, [...this.dirty]);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.dirty.clear();
  }

  private writeSlotsTo(fd: number, slots: number[]): void {
    const capacity = this.image.length / SLOT;
    // Grown in large steps with a sparse extension, so most commits leave the size alone and
    // fdatasync has no metadata to write.
    if (capacity > this.fileSlots) {
      ftruncateSync(fd, capacity * SLOT);
      this.fileSlots = capacity;
    }
    slots.sort((a, b) => a - b);
    for (let i = 0; i < slots.length;) {
      let j = i;
      while (j + 1 < slots.length && slots[j + 1] === (slots[j] as number) + 1) j++;
      const at = (slots[i] as number) * SLOT;
      const length = (j - i + 1) * SLOT;
      for (let done = 0; done < length;)
        done += writeSync(fd, this.image, at + done, length - done, at + done);
      i = j + 1;
    }
  }
}

/** Creates the key file (0600) when it is missing; true when it did. */
function createIfMissing(file: string): boolean {
  try {
    closeSync(openSync(file, fsConstants.O_RDWR | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
}

function slotCheck(kid: Uint8Array, key: Uint8Array): Buffer {
  return createHash("sha256")
    .update(SLOT_CHECK_LABEL)
    .update(kid)
    .update(key)
    .digest()
    .subarray(0, CHECK_SIZE);
}

function encodeSlot(image: Buffer, slot: number, kid: Uint8Array, key: Uint8Array): void {
  const at = slot * SLOT;
  image.fill(0, at, at + SLOT);
  image[at + Slot.USED] = 1;
  image.set(kid, at + Slot.KID);
  image.set(key, at + Slot.KEY);
  slotCheck(kid, key).copy(image, at + Slot.CHECK);
}

function isZero(bytes: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (bytes[i] !== 0) return false;
  return true;
}

/** An earlier version's shard file: key id (hex) → K_m (hex). */
function parseShard(file: string): Map<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    throw new MemberKeyVaultError(
      `member key file ${file} is not readable JSON; restore the data directory from a backup`,
    );
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new MemberKeyVaultError(`member key file ${file} is not an object of key ids`);
  const entries = new Map<string, string>();
  for (const [kid, key] of Object.entries(parsed)) {
    if (!KID_HEX.test(kid) || typeof key !== "string" || !KEY_HEX.test(key))
      throw new MemberKeyVaultError(
        `member key file ${file} holds an entry that is not a key id and a 32-byte key`,
      );
    entries.set(kid, key);
  }
  return entries;
}
