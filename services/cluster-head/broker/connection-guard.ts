/**
 * What stands between a TCP socket and aedes: packet sizes checked on the MQTT fixed header before
 * any body is buffered, a single small CONNECT before authentication, a deadline for the CONNACK,
 * and a bound on the number of connections that have not been admitted yet
 * (docs/mqtt.md § Limits; issue 19).
 *
 * aedes 1.2 and mqtt-packet 9 have no packet size limit: the parser appends bytes until the
 * Remaining Length announced in the fixed header has arrived, up to 256 MiB per connection, and it
 * does so before `authenticate` runs. The gate reads only the fixed headers (MQTT 3.1.1 §2.2) and
 * forwards the bytes unchanged.
 */
import { Duplex } from "node:stream";
import type { Socket } from "node:net";

/** MQTT 3.1.1 §2.2.1 control packet type of CONNECT. */
const CONNECT_TYPE = 1;
/** MQTT 3.1.1 §2.2.3: the Remaining Length takes at most four bytes. */
const MAX_LENGTH_BYTES = 4;

/** Why a {@link PacketGate} closed its connection. */
export type GateRefusal =
  /** A fixed header announced more than the limit in force. */
  | "oversize"
  /** The first packet was not a CONNECT (MQTT-3.1.0-1), or a Remaining Length ran past four bytes. */
  | "malformed"
  /** No CONNACK was reached within the connect timeout. */
  | "timeout";

/** Limits and callbacks of one {@link PacketGate}. */
export interface PacketGateOptions {
  /** Largest Remaining Length of the CONNECT, the only packet read before {@link PacketGate.admit}. */
  maxConnectBytes: number;
  /** Largest Remaining Length of any packet after {@link PacketGate.admit}. */
  maxPacketBytes: number;
  /** The connection is closed unless {@link PacketGate.admit} is called within this time. */
  connectTimeoutMs: number;
  /** Called once when the gate closes the connection itself, before it is destroyed. */
  onRefuse: (why: GateRefusal) => void;
}

const enum Stage {
  FIRST_BYTE,
  LENGTH,
  BODY,
}

/**
 * A duplex stream over a socket that aedes reads MQTT from. Before {@link admit} it forwards one
 * CONNECT of at most `maxConnectBytes` and then stops reading the socket: whatever the client sends
 * next waits in the kernel, not in this process, until the CONNACK. After {@link admit}, any packet
 * announcing more than `maxPacketBytes` closes the connection before its body is read.
 * Writes go to the socket unchanged; a write completes when the socket's does.
 */
export class PacketGate extends Duplex {
  readonly #socket: Socket;
  readonly #options: PacketGateOptions;
  #timer: NodeJS.Timeout | undefined;
  #admitted = false;
  /** The CONNECT has been forwarded and admission is awaited. */
  #connectForwarded = false;
  /** Bytes after the CONNECT that arrived before admission (at most what one socket read held). */
  #held: Buffer | undefined;
  /** The socket ended while bytes were held: end the readable side once they are forwarded. */
  #endPending = false;
  /** The reader is behind (push returned false). */
  #blocked = false;
  #refused = false;
  #stage = Stage.FIRST_BYTE;
  #length = 0;
  #multiplier = 1;
  #lengthBytes = 0;
  #remaining = 0;

  constructor(socket: Socket, options: PacketGateOptions) {
    super({ allowHalfOpen: false });
    this.#socket = socket;
    this.#options = options;
    this.#timer = setTimeout(() => this.#refuse("timeout"), options.connectTimeoutMs);
    this.#timer.unref();
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("end", () => {
      if (this.#held !== undefined || (this.#connectForwarded && !this.#admitted)) this.#endPending = true;
      else this.push(null);
    });
    socket.on("error", (err) => this.destroy(err));
    socket.on("close", () => this.destroy());
  }

  /** The broker accepted the CONNECT (CONNACK 0): read on, with `maxPacketBytes` as the limit. */
  admit(): void {
    if (this.#admitted || this.destroyed) return;
    this.#admitted = true;
    this.#clearTimer();
    const held = this.#held;
    this.#held = undefined;
    if (held !== undefined) this.#onData(held);
    if (this.destroyed) return;
    if (this.#endPending) this.push(null);
    else this.#resumeIfAllowed();
  }

  #onData(chunk: Buffer): void {
    if (this.#refused) return;
    if (this.#held !== undefined || (this.#connectForwarded && !this.#admitted)) {
      // Dead in practice (a paused socket emits no 'data'); here so that no byte can slip past.
      this.#held = this.#held === undefined ? chunk : Buffer.concat([this.#held, chunk]);
      this.#socket.pause();
      return;
    }
    const end = this.#scan(chunk);
    if (end < 0) return;
    if (end > 0 && !this.push(end === chunk.length ? chunk : chunk.subarray(0, end))) {
      this.#blocked = true;
      this.#socket.pause();
    }
    if (end < chunk.length) this.#held = chunk.subarray(end);
    if (this.#connectForwarded && !this.#admitted) this.#socket.pause();
  }

  /**
   * Walks the fixed headers in `chunk`.
   * @returns how many leading bytes may be forwarded now, or -1 when the connection was refused
   */
  #scan(chunk: Buffer): number {
    let i = 0;
    while (i < chunk.length) {
      if (this.#connectForwarded && !this.#admitted) return i; // hold the rest until the CONNACK
      switch (this.#stage) {
        case Stage.FIRST_BYTE: {
          // MQTT-3.1.0-1: the first packet from the client MUST be a CONNECT.
          if (!this.#admitted && (chunk[i] as number) >> 4 !== CONNECT_TYPE) return this.#refuse("malformed");
          this.#length = 0;
          this.#multiplier = 1;
          this.#lengthBytes = 0;
          this.#stage = Stage.LENGTH;
          i++;
          break;
        }
        case Stage.LENGTH: {
          const byte = chunk[i++] as number;
          this.#length += (byte & 0x7f) * this.#multiplier;
          this.#multiplier *= 128;
          this.#lengthBytes++;
          const limit = this.#admitted ? this.#options.maxPacketBytes : this.#options.maxConnectBytes;
          // The value only grows with more length bytes, so refuse as soon as it is over.
          if (this.#length > limit) return this.#refuse("oversize");
          if ((byte & 0x80) === 0) {
            this.#remaining = this.#length;
            this.#stage = Stage.BODY;
            if (this.#remaining === 0) this.#packetDone();
          } else if (this.#lengthBytes === MAX_LENGTH_BYTES) {
            return this.#refuse("malformed");
          }
          break;
        }
        case Stage.BODY: {
          const take = Math.min(this.#remaining, chunk.length - i);
          i += take;
          this.#remaining -= take;
          if (this.#remaining === 0) this.#packetDone();
          break;
        }
      }
    }
    return chunk.length;
  }

  #packetDone(): void {
    this.#stage = Stage.FIRST_BYTE;
    if (!this.#admitted) this.#connectForwarded = true;
  }

  #refuse(why: GateRefusal): -1 {
    if (!this.#refused && !this.destroyed) {
      this.#refused = true;
      this.#clearTimer();
      this.#options.onRefuse(why);
      this.destroy();
    }
    return -1;
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #resumeIfAllowed(): void {
    if (this.#blocked || this.destroyed || (this.#connectForwarded && !this.#admitted)) return;
    this.#socket.resume();
  }

  override _read(): void {
    this.#blocked = false;
    this.#resumeIfAllowed();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#socket.write(chunk, callback);
  }

  override _writev(
    chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>,
    callback: (error?: Error | null) => void,
  ): void {
    // mqtt-packet corks the stream around each packet: send its parts in one socket write.
    this.#socket.cork();
    chunks.forEach(({ chunk }, i) => {
      if (i === chunks.length - 1) this.#socket.write(chunk, callback);
      else this.#socket.write(chunk);
    });
    this.#socket.uncork();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#socket.end(() => callback());
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#clearTimer();
    this.#held = undefined;
    this.#socket.destroy();
    callback(error);
  }
}

/**
 * Counts connections that have not been admitted yet, in total and per source address.
 * `tryAcquire` hands out a release function that may be called any number of times.
 */
export class PendingConnections {
  readonly #byAddress = new Map<string, number>();
  #total = 0;

  constructor(
    private readonly maxTotal: number,
    private readonly maxPerAddress: number,
  ) {}

  /** Connections counted now. */
  get size(): number {
    return this.#total;
  }

  /** @returns a release function, or `undefined` when a limit is reached (the caller closes the socket) */
  tryAcquire(address: string): (() => void) | undefined {
    const here = this.#byAddress.get(address) ?? 0;
    if (this.#total >= this.maxTotal || here >= this.maxPerAddress) return undefined;
    this.#total++;
    this.#byAddress.set(address, here + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#total--;
      const left = (this.#byAddress.get(address) ?? 1) - 1;
      if (left === 0) this.#byAddress.delete(address);
      else this.#byAddress.set(address, left);
    };
  }
}
