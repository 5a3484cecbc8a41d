/**
 * Times on the wire as u32 unix seconds (docs/protocol.md § Conventions): the join's membership
 * expiry, the SessionRequest timestamp and the Grant's times. The protocol API keeps unix
 * milliseconds everywhere; a time that goes on the wire is first rounded down to a whole second by
 * its producer, so both ends compute with the very value that was sent (and signed or MAC'ed). A u32
 * of seconds lasts until 2106-02-07T06:28:15Z.
 * @module
 */

/** The largest time a u32 of seconds holds, in ms (2106-02-07T06:28:15Z). */
export const MAX_WIRE_TIME_MS = 0xffff_ffff * 1000;

/** `ms` rounded down to a whole second (what goes on the wire; expiries only get shorter). */
export function floorToSecond(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

/**
 * The u32 seconds of a whole-second millisecond time.
 * @throws RangeError when `ms` is not a whole second in [0, {@link MAX_WIRE_TIME_MS}] (a producer
 *   must round with {@link floorToSecond} first: a programming error)
 */
export function toWireSeconds(ms: number, field: string): number {
  if (!Number.isSafeInteger(ms) || ms < 0 || ms % 1000 !== 0)
    throw new RangeError(`${field}: expected whole unix seconds (ms divisible by 1000)`);
  if (ms > MAX_WIRE_TIME_MS) throw new RangeError(`${field}: past 2106 (u32 seconds)`);
  return ms / 1000;
}

/** Milliseconds of a u32 seconds field read from the wire (every u32 is a valid time). */
export function fromWireSeconds(seconds: number): number {
  return seconds * 1000;
}
