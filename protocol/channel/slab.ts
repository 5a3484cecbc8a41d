/**
 * Memory for sealed frames: views cut from shared slabs (see {@link frameBytes}).
 * @module
 */

/**
 * Sealed frames are cut from shared 64 KiB slabs, as Node's Buffer pool cuts small Buffers: a
 * fresh ArrayBuffer per frame costs about 1 µs and garbage-collector work (off-heap backing
 * store), a view into a slab about 0.1 µs. A slab holds sealed frames only (the caller's prefix,
 * the header, ciphertext and tag: what goes on the wire), never plaintext or keys; every frame's
 * bytes are written once and never handed out again, and a slab is freed when no frame refers to
 * it. So `frame.buffer` is the whole slab: use the frame's own `byteOffset`/`byteLength` (as
 * `Buffer.from(frame)` and `Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength)` do).
 */
const SLAB_BYTES = 64 * 1024;
/** Larger frames get an ArrayBuffer of their own (a slab would waste its tail). */
const SLAB_MAX_FRAME = SLAB_BYTES / 8;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabUsed = 0;

/**
 * A fresh view of `length` bytes for one sealed frame (never handed out before).
 */
export function frameBytes(length: number): Uint8Array {
  if (length > SLAB_MAX_FRAME) return new Uint8Array(length);
  if (slabUsed + length > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabUsed = 0;
  }
  const out = new Uint8Array(slab, slabUsed, length);
  // 8-byte aligned, as Node's pool.
  slabUsed += (length + 7) & ~7;
  return out;
}
