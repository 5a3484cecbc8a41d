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

/**
 * Hands out fresh, 8-byte-aligned views cut from shared slabs of `slabBytes`, as Node's Buffer
 * pool cuts small Buffers; lengths above an eighth of a slab get an ArrayBuffer of their own (a
 * slab would waste its tail). A view is never handed out twice, and a slab is freed when no view
 * refers to it. Keep one allocator per kind of bytes (frames apart from plaintexts).
 */
export class SlabAllocator {
  private slab: ArrayBuffer;
  private used = 0;

  constructor(private readonly slabBytes: number) {
    this.slab = new ArrayBuffer(slabBytes);
  }

  /** A fresh view of `length` bytes. */
  take(length: number): Uint8Array {
    if (length > this.slabBytes / 8) return new Uint8Array(length);
    if (this.used + length > this.slabBytes) {
      this.slab = new ArrayBuffer(this.slabBytes);
      this.used = 0;
    }
    const out = new Uint8Array(this.slab, this.used, length);
    this.used += (length + 7) & ~7;
    return out;
  }
}

const frames = new SlabAllocator(SLAB_BYTES);

/** A fresh view of `length` bytes for one sealed frame (never handed out before). */
export function frameBytes(length: number): Uint8Array {
  return frames.take(length);
}
