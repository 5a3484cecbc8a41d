/**
 * `operator enroll`, `operator revoke` and `device enroll` wait, by default, until the head's index
 * holds the transaction, i.e. until it has the head's `--confirmations` (seconds to minutes on a
 * real network): the head answers once it is mined (`?wait=false`), then the device read says what
 * is left, printed as a progress line on stderr each time it changes. `--no-wait` returns at once.
 */
import type { Command } from "commander";
import { DeviceError, type HeadClient } from "../../sdk";

/** The flags of a command that waits for confirmations. */
export interface WaitFlags {
  /** false with `--no-wait`. */
  wait: boolean;
  waitTimeout: string;
}

/** What a head's `pending` says (docs/api.md § Pending transactions). */
interface PendingState {
  action: string;
  txHash: string;
  block: number | null;
  confirmationsLeft: number;
}

const POLL_MS = 500;

export function withWaitOptions(cmd: Command): Command {
  return cmd
    .option("--no-wait", "return once the transaction is mined, without waiting for the confirmations")
    .option("--wait-timeout <seconds>", "stop waiting for the confirmations after this long", "600");
}

/** How a pending transaction reads on a progress line. */
export function describePending(p: PendingState): string {
  return p.block === null
    ? `tx ${p.txHash} not mined yet`
    : `tx ${p.txHash} in block ${p.block}, ${p.confirmationsLeft} confirmation(s) left`;
}

/**
 * Resolves once `deviceId` shows no pending transaction and has status `expected`.
 * @throws DeviceError E_CONFIRMATION_TIMEOUT after `--wait-timeout`; E_HEAD_REFUSED when the
 *   transaction left the chain (the device read no longer shows it and the status is not reached)
 */
export async function waitForConfirmation(
  client: HeadClient,
  deviceId: string,
  first: PendingState | undefined,
  expected: "active" | "revoked",
  flags: WaitFlags,
): Promise<void> {
  const timeoutS = Number(flags.waitTimeout);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0)
    throw new DeviceError("E_BAD_ARGUMENT", `--wait-timeout: expected seconds > 0 (${flags.waitTimeout})`);
  if (!first) return;
  const deadline = Date.now() + timeoutS * 1000;
  let last = describePending(first);
  process.stderr.write(`waiting for confirmations: ${last}\n`);
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    let record: Record<string, unknown> | undefined;
    try {
      record = await client.device(deviceId);
    } catch (error) {
      // A device whose enrollment vanished reads 404: judged below like any other wrong status.
      if (!(error instanceof DeviceError) || error.headCode !== "E_NOT_FOUND") throw error;
    }
    const pending = record?.pending as PendingState | undefined;
    if (pending) {
      const line = describePending(pending);
      if (line !== last) process.stderr.write(`waiting for confirmations: ${(last = line)}\n`);
    } else if (record?.status === expected) {
      return;
    } else {
      throw new DeviceError(
        "E_HEAD_REFUSED",
        `${first.action} of ${deviceId} (tx ${first.txHash}) is no longer pending but the head shows the device ${String(record?.status ?? "unknown")}: the chain dropped it; try again`,
        { headCode: "E_NOT_FOUND" },
      );
    }
    if (Date.now() > deadline)
      throw new DeviceError(
        "E_CONFIRMATION_TIMEOUT",
        `${first.action} of ${deviceId} still pending after ${timeoutS} s (${last}); read it with GET /v1/devices/${deviceId}`,
      );
  }
}
