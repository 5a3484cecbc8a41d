/**
 * The records of the session store's journal (platform/append-journal.ts), in a compact binary
 * form: about 250 bytes per grant with the journal's framing (measured: 248–251 B for 64-hex-digit
 * device IDs), against about 790 as level's JSON values. Strings are UTF-8
 * behind a u16 length, times and key versions float64 (NaN: absent), integers little-endian.
 *
 * | type | record | written |
 * |---|---|---|
 * | 1 | grant: replay key (32 B) and its expiry, the new session, the IDs it supersedes | per grant |
 * | 2 | end: when, why, the sessions ended | a membership ended |
 * | 3 | delete: session IDs | pruning |
 * | 4 | session: one whole record, ended or not | snapshots |
 * | 5 | replay keys: up to {@link REPLAY_KEYS_PER_RECORD} keys and their expiries | snapshots |
 *
 * Expired replay keys and the ended sessions beyond the kept number are never written as deleted:
 * loading drops them again by the same rules.
 * @module
 */
import { Buffer } from "node:buffer";
import type { SessionRecord } from "./session-store";

export const RecordType = { GRANT: 1, END: 2, DELETE: 3, SESSION: 4, REPLAY_KEYS: 5 } as const;
/** Replay keys per snapshot record (about 160 KB each). */
export const REPLAY_KEYS_PER_RECORD = 4_096;
const REPLAY_KEY_BYTES = 32;

/** A record read back. */
export type JournalRecord =
  | {
      type: typeof RecordType.GRANT;
      replayKey: Buffer;
      replayKeyExpiresAt: number;
      session: SessionRecord;
      superseded: string[];
    }
  | { type: typeof RecordType.END; endedAt: number; reason: string; sessionIds: string[] }
  | { type: typeof RecordType.DELETE; sessionIds: string[] }
  | { type: typeof RecordType.SESSION; session: SessionRecord }
  | { type: typeof RecordType.REPLAY_KEYS; keys: Buffer; expiries: number[] };

/** A record the store does not understand, or cut short: the journal is corrupt. */
export class JournalRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "JournalRecordError";
  }
}

/** Appends fields to one preallocated buffer. */
class Out {
  readonly buffer: Buffer;
  offset = 0;
  constructor(size: number) {
    this.buffer = Buffer.allocUnsafe(size);
  }
  u8(v: number): this {
    this.offset = this.buffer.writeUInt8(v, this.offset);
    return this;
  }
  u16(v: number): this {
    this.offset = this.buffer.writeUInt16LE(v, this.offset);
    return this;
  }
  u32(v: number): this {
    this.offset = this.buffer.writeUInt32LE(v, this.offset);
    return this;
  }
  f64(v: number): this {
    this.offset = this.buffer.writeDoubleLE(v, this.offset);
    return this;
  }
  bytes(b: Uint8Array): this {
    this.buffer.set(b, this.offset);
    this.offset += b.length;
    return this;
  }
  str(s: string): this {
    const length = this.buffer.write(s, this.offset + 2, "utf8");
    this.buffer.writeUInt16LE(length, this.offset);
    this.offset += 2 + length;
    return this;
  }
  done(): Buffer {
    return this.buffer.subarray(0, this.offset);
  }
}

/** Bytes a string takes at most (UTF-8 is at most 3 bytes per UTF-16 unit) with its length. */
function strMax(s: string): number {
  if (s.length > 0x5555) throw new RangeError("a journal string is at most 21,845 characters");
  return 2 + 3 * s.length;
}

const SESSION_FIXED = 1 + 8 + 8 + 8 + 8;

function sessionMax(s: SessionRecord): number {
  return strMax(s.sessionId) + strMax(s.initiator) + strMax(s.responder) + SESSION_FIXED;
}

function writeSession(out: Out, s: SessionRecord): void {
  out
    .str(s.sessionId)
    .str(s.initiator)
    .str(s.responder)
    .u8(s.suite)
    .f64(s.issuedAt)
    .f64(s.expiresAt)
    .f64(s.initiatorKeyVersion ?? Number.NaN)
    .f64(s.responderKeyVersion ?? Number.NaN);
}

/**
 * A grant: its replay key (the 32 bytes of `replayKeyBytes`), the new session, and the IDs of the
 * sessions it supersedes (they end at `session.issuedAt`, reason superseded).
 */
export function encodeGrant(
  replayKeyBytes: Uint8Array,
  replayKeyExpiresAt: number,
  session: SessionRecord,
  superseded: readonly string[],
): Buffer {
  if (replayKeyBytes.length !== REPLAY_KEY_BYTES) throw new RangeError("replayKey: expected 32 bytes");
  let size = 1 + REPLAY_KEY_BYTES + 8 + sessionMax(session) + 2;
  for (const id of superseded) size += strMax(id);
  const out = new Out(size).u8(RecordType.GRANT).bytes(replayKeyBytes).f64(replayKeyExpiresAt);
  writeSession(out, session);
  out.u16(superseded.length);
  for (const id of superseded) out.str(id);
  return out.done();
}

/** Sessions ended at `endedAt` for `reason` (a membership ended). */
export function encodeEnd(endedAt: number, reason: string, sessionIds: readonly string[]): Buffer {
  if (sessionIds.length > 0xffff) throw new RangeError("at most 65,535 sessions end in one record");
  let size = 1 + 8 + strMax(reason) + 2;
  for (const id of sessionIds) size += strMax(id);
  const out = new Out(size).u8(RecordType.END).f64(endedAt).str(reason).u16(sessionIds.length);
  for (const id of sessionIds) out.str(id);
  return out.done();
}

/** Sessions deleted (pruned). */
export function encodeDelete(sessionIds: readonly string[]): Buffer {
  let size = 1 + 4;
  for (const id of sessionIds) size += strMax(id);
  const out = new Out(size).u8(RecordType.DELETE).u32(sessionIds.length);
  for (const id of sessionIds) out.str(id);
  return out.done();
}

/** One whole session, for a snapshot. */
export function encodeSession(s: SessionRecord): Buffer {
  const ended = s.endedAt !== undefined;
  const out = new Out(1 + sessionMax(s) + 1 + 8 + strMax(s.endReason ?? "")).u8(RecordType.SESSION);
  writeSession(out, s);
  out.u8(ended ? 1 : 0);
  if (ended) out.f64(s.endedAt!).str(s.endReason ?? "");
  return out.done();
}

/** Replay keys (32 bytes each, concatenated in `keys`) and their expiries, for a snapshot. */
export function encodeReplayKeys(keys: Uint8Array, expiries: readonly number[]): Buffer {
  if (keys.length !== expiries.length * REPLAY_KEY_BYTES)
    throw new RangeError("keys: expected 32 bytes per expiry");
  const out = new Out(1 + 4 + expiries.length * (REPLAY_KEY_BYTES + 8))
    .u8(RecordType.REPLAY_KEYS)
    .u32(expiries.length)
    .bytes(keys);
  for (const at of expiries) out.f64(at);
  return out.done();
}

/** Reads fields, refusing to read past the end. */
class In {
  offset = 0;
  constructor(readonly buffer: Buffer) {}
  #need(n: number): void {
    if (this.offset + n > this.buffer.length) throw new JournalRecordError("record cut short");
  }
  u8(): number {
    this.#need(1);
    return this.buffer.readUInt8(this.offset++);
  }
  u16(): number {
    this.#need(2);
    const v = this.buffer.readUInt16LE(this.offset);
    this.offset += 2;
    return v;
  }
  u32(): number {
    this.#need(4);
    const v = this.buffer.readUInt32LE(this.offset);
    this.offset += 4;
    return v;
  }
  f64(): number {
    this.#need(8);
    const v = this.buffer.readDoubleLE(this.offset);
    this.offset += 8;
    return v;
  }
  bytes(n: number): Buffer {
    this.#need(n);
    const b = this.buffer.subarray(this.offset, this.offset + n);
    this.offset += n;
    return b;
  }
  str(): string {
    return this.bytes(this.u16()).toString("utf8");
  }
  end(): void {
    if (this.offset !== this.buffer.length) throw new JournalRecordError("bytes after the record's end");
  }
}

function readSession(input: In): SessionRecord {
  const session: SessionRecord = {
    sessionId: input.str(),
    initiator: input.str(),
    responder: input.str(),
    suite: input.u8(),
    issuedAt: input.f64(),
    expiresAt: input.f64(),
  };
  const initiatorKeyVersion = input.f64();
  const responderKeyVersion = input.f64();
  if (!Number.isNaN(initiatorKeyVersion)) session.initiatorKeyVersion = initiatorKeyVersion;
  if (!Number.isNaN(responderKeyVersion)) session.responderKeyVersion = responderKeyVersion;
  return session;
}

function strings(input: In, count: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(input.str());
  return out;
}

/**
 * Decodes one record.
 * @throws JournalRecordError when it is cut short, too long, or of an unknown type
 */
export function decodeRecord(bytes: Buffer): JournalRecord {
  const input = new In(bytes);
  const type = input.u8();
  let record: JournalRecord;
  switch (type) {
    case RecordType.GRANT: {
      const replayKey = input.bytes(REPLAY_KEY_BYTES);
      const replayKeyExpiresAt = input.f64();
      const session = readSession(input);
      record = { type, replayKey, replayKeyExpiresAt, session, superseded: strings(input, input.u16()) };
      break;
    }
    case RecordType.END: {
      const endedAt = input.f64();
      const reason = input.str();
      record = { type, endedAt, reason, sessionIds: strings(input, input.u16()) };
      break;
    }
    case RecordType.DELETE:
      record = { type, sessionIds: strings(input, input.u32()) };
      break;
    case RecordType.SESSION: {
      const session = readSession(input);
      if (input.u8() === 1) {
        session.endedAt = input.f64();
        session.endReason = input.str();
      }
      record = { type, session };
      break;
    }
    case RecordType.REPLAY_KEYS: {
      const count = input.u32();
      const keys = input.bytes(count * REPLAY_KEY_BYTES);
      const expiries: number[] = [];
      for (let i = 0; i < count; i++) expiries.push(input.f64());
      record = { type, keys, expiries };
      break;
    }
    default:
      throw new JournalRecordError(`unknown record type ${type}`);
  }
  input.end();
  return record;
}
