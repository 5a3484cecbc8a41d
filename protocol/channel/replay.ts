/**
 * Sliding replay window of {@link REPLAY_WINDOW} sequence numbers (RFC 8613 §7.4, RFC 4303 §3.4.3).
 * `check` has no side effects; `commit` is called only after the tag verified, so a forged
 * frame never moves the window.
 *
 * Sequence numbers are numbers, not BigInts: a frame's is below {@link MAX_MESSAGES_PER_KEY} = 2^32
 * (frame.ts `checkFrame` refuses the rest), so they are exact, and the window is two 32-bit words,
 * which keeps BigInt arithmetic (and its allocations) off the receiver's per-frame path.
 * @module
 */
import { MAX_MESSAGES_PER_KEY, REPLAY_WINDOW } from "../constants";
import { ProtocolError } from "../errors";

const WINDOW: number = REPLAY_WINDOW;
const MAX_SEQ_NUMBER = Number(MAX_MESSAGES_PER_KEY);
// The bitmap below is two 32-bit words; a wider window needs another representation.
if (WINDOW > 64 || WINDOW < 1) throw new RangeError("REPLAY_WINDOW: this window holds 1 to 64 numbers");

/** Replay window state. */
export class ReplayWindow {
  /** Highest accepted sequence number, -1 before the first frame. */
  private highest = -1;
  /** Bit i set ⇔ (highest - i) was accepted, for i in 0–31. */
  private low = 0;
  /** Bit i set ⇔ (highest - 32 - i) was accepted, for i in 0–31 (ages at or past the window unused). */
  private high = 0;

  /**
   * Check whether `seq` may be accepted.
   * @param seq - an integer in [0, {@link MAX_MESSAGES_PER_KEY})
   * @throws ProtocolError E_REPLAY when already seen or older than the window
   * @throws RangeError when `seq` is not such an integer (a caller's bug: frames are checked first)
   */
  check(seq: number): void {
    if (!Number.isInteger(seq) || seq < 0 || seq >= MAX_SEQ_NUMBER) throw new RangeError("seq: out of range");
    if (seq > this.highest) return;
    const age = this.highest - seq;
    if (age >= WINDOW) throw new ProtocolError("E_REPLAY", "frame older than replay window");
    const seen = age < 32 ? (this.low >>> age) & 1 : (this.high >>> (age - 32)) & 1;
    if (seen !== 0) throw new ProtocolError("E_REPLAY", "frame replayed");
  }

  /** Record `seq` as accepted (call after {@link check} and tag verification). */
  commit(seq: number): void {
    if (seq > this.highest) {
      const shift = seq - this.highest;
      if (shift >= 64) {
        this.high = 0;
        this.low = 1;
      } else if (shift >= 32) {
        // Every old age moves up by at least 32: the low word lands in the high one, the old
        // high word leaves the window.
        this.high = (this.low << (shift - 32)) >>> 0;
        this.low = 1;
      } else {
        this.high = ((this.high << shift) | (this.low >>> (32 - shift))) >>> 0;
        this.low = ((this.low << shift) | 1) >>> 0;
      }
      this.highest = seq;
    } else {
      const age = this.highest - seq;
      if (age < 32) this.low = (this.low | (1 << age)) >>> 0;
      else if (age < 64) this.high = (this.high | (1 << (age - 32))) >>> 0;
    }
  }

  /** Highest accepted sequence number (-1n before any). */
  get highestSeen(): bigint {
    return BigInt(this.highest);
  }
}
