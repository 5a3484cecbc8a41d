/**
 * MQTT packets of one event-loop turn written to the socket together, in one syscall.
 *
 * Why: mqtt.js handles each incoming PUBLISH in its own `process.nextTick`, and mqtt-packet corks
 * the socket for one packet and uncorks it on the next tick, so every PUBACK a burst calls for
 * left in a `writev` of its own. Held until the turn ends they leave together: a QoS 1 receiver
 * spent 5.6–5.9 µs of CPU per message instead of 7.6–8.4 (`npx tsx bench/lib/m2m-profile.ts`,
 * aedes, 256 B, 2026-11-28). A write waits at most until the end of the current turn
 * (`setImmediate`).
 * @module
 */
import type { Duplex, Writable } from "node:stream";
import { setImmediate } from "node:timers";

const held = new WeakSet<Writable>();

/** Holds `stream`'s writes until the end of this event-loop turn, then sends them together. */
export function holdWritesForThisTurn(stream: Writable): void {
  if (held.has(stream)) return;
  held.add(stream);
  stream.cork();
  setImmediate(() => {
    held.delete(stream);
    if (!stream.destroyed) stream.uncork();
  });
}

/**
 * From now on, what `stream`'s reads call for (mqtt.js's acknowledgements of a burst) is written
 * together at the end of the turn that read it.
 */
export function batchWritesPerRead(stream: Duplex): void {
  // Before mqtt.js's own reader (a pipe's `data` listener): its first answer is held too.
  stream.prependListener("data", () => holdWritesForThisTurn(stream));
}
