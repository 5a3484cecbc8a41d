/**
 * Sliding replay window of {@link REPLAY_WINDOW} sequence numbers (RFC 8613 §7.4, RFC 4303 §3.4.3).
 * `check` has no side effects; `commit` is called only after the tag verified, so a forged
 * frame never moves the window.
 * @module
 */
import { REPLAY_WINDOW } from "../constants";
import { ProtocolError } from "../errors";

const WINDOW = BigInt(REPLAY_WINDOW);
const MASK = (1n << WINDOW) - 1n;

/** Replay window state. */
export class ReplayWindow {
  /** Highest accepted sequence number, -1 before the first frame. */
  private highest = -1n;
  /** Bit i set ⇔ (highest - i) was accepted. */
  private bitmap = 0n;

  /**
   * Check whether `seq` may be accepted.
   * @throws ProtocolError E_REPLAY when already seen or older than the window
   */
  check(seq: bigint): void {
    if (seq > this.highest) return;
    const age = this.highest - seq;
    if (age >= WINDOW) throw new ProtocolError("E_REPLAY", "frame older than replay window");
    if ((this.bitmap >> age) & 1n) throw new ProtocolError("E_REPLAY", "frame replayed");
  }

  /** Record `seq` as accepted (call after {@link check} and tag verification). */
  commit(seq: bigint): void {
    if (seq > this.highest) {
      const shift = seq - this.highest;
      this.bitmap = shift >= WINDOW ? 1n : ((this.bitmap << shift) | 1n) & MASK;
      this.highest = seq;
    } else {
      this.bitmap |= 1n << (this.highest - seq);
    }
  }

  /** Highest accepted sequence number (-1n before any). */
  get highestSeen(): bigint {
    return this.highest;
  }
}
