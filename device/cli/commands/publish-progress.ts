/**
 * Progress output of `device publish` on stderr: a bar redrawn in place on a terminal, a plain line
 * every couple of seconds otherwise (logs, CI), nothing with `--quiet`.
 */
import type { PublishProgress } from "./publish-queue";

const BAR_WIDTH = 24;
const PLAIN_EVERY_MS = 2000;
const TTY_EVERY_MS = 100;

export function progressLine(p: PublishProgress): string {
  const rate = p.elapsedMs > 0 ? Math.round((p.acknowledged * 1000) / p.elapsedMs) : 0;
  const counts = `${p.sent}${p.total === undefined ? "" : `/${p.total}`} sent, ${p.acknowledged} acknowledged, ${rate}/s stored`;
  if (p.total === undefined || p.total === 0) return counts;
  const filled = Math.round((p.acknowledged / p.total) * BAR_WIDTH);
  const pct = Math.floor((p.acknowledged / p.total) * 100);
  return `[${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}] ${String(pct).padStart(3)}% ${counts}`;
}

/** A throttled printer; `done()` prints the last state and ends the line on a terminal. */
export function progressPrinter(stream: NodeJS.WriteStream, enabled: boolean) {
  const tty = stream.isTTY === true;
  let last = 0;
  let latest: PublishProgress | undefined;
  const draw = (p: PublishProgress) => {
    const line = progressLine(p);
    if (tty) stream.write(`\r\x1b[2K${line.slice(0, (stream.columns ?? 120) - 1)}`);
    else stream.write(`${line}\n`);
  };
  return {
    update(p: PublishProgress): void {
      latest = p;
      if (!enabled) return;
      const now = Date.now();
      if (now - last < (tty ? TTY_EVERY_MS : PLAIN_EVERY_MS)) return;
      last = now;
      draw(p);
    },
    done(): void {
      if (!enabled || !latest) return;
      draw(latest);
      if (tty) stream.write("\n");
    },
  };
}
