/**
 * Enrolling devices: check each proof of possession, refuse what the index already knows, write
 * one transaction (single or batch), wait for its receipt, and index it before answering, so a
 * device can join as soon as its enrollment is acknowledged; or, with `wait: false`, answer once it
 * is mined, saying how many confirmations are left (the device's join is refused with
 * E_ENROLLMENT_PENDING until then).
 */
import { getBytes } from "ethers";
import { fromHex, isProtocolError, verifyEnrollmentProof } from "../../../protocol";
import type { HeadContext } from "../context";
import { HeadError } from "../errors";
import { recordOutcome } from "./record-outcome";
import { requireServingIndex } from "./require-serving-index";
import type { PendingView } from "./pending-transactions";
import { sendRegistryTransaction } from "./send-registry-transaction";

/** One device to enroll, as validated by the transport: hex without 0x, a 0x address, a 0x proof. */
export interface EnrollItem {
  deviceId: string;
  keyAddress: string;
  proof: string;
}

export interface EnrollResult {
  transactionHash: string;
  blockNumber: number;
  devices: { deviceId: string; keyAddress: string }[];
  /** Present when the answer comes before the index holds the enrollment. */
  pending?: PendingView;
}

/**
 * Enrolls `items` in one transaction on behalf of `operator`, who is named in the audit log
 * before the transaction is sent and again with its result.
 */
export async function enrollDevices(
  ctx: HeadContext,
  items: EnrollItem[],
  operator: string,
  options: { wait?: boolean } = {},
): Promise<EnrollResult> {
  requireServingIndex(ctx);
  const clusterId = ctx.config.clusterId;
  const seen = new Set<string>();
  for (const item of items) {
    if (seen.has(item.deviceId))
      throw new HeadError("E_VALIDATION", `device ${item.deviceId} appears twice in the batch`);
    seen.add(item.deviceId);
    try {
      verifyEnrollmentProof(
        { clusterId, deviceId: fromHex(item.deviceId), keyAddress: getBytes(item.keyAddress), keyVersion: 0 },
        getBytes(item.proof),
      );
    } catch (error) {
      if (isProtocolError(error)) {
        throw new HeadError(
          "E_BAD_PROOF",
          `device ${item.deviceId}: the proof is not a signature by ${item.keyAddress} for this device and cluster`,
        );
      }
      throw error;
    }
    if (await ctx.index.getDevice(item.deviceId)) {
      throw new HeadError(
        "E_ALREADY_ENROLLED",
        `device ${item.deviceId} is already enrolled (IDs are never reused)`,
      );
    }
    if (ctx.pending.forDevice(item.deviceId)?.action === "enroll") {
      throw new HeadError(
        "E_ALREADY_ENROLLED",
        `device ${item.deviceId}: its enrollment is already sent and waiting for confirmations`,
      );
    }
  }

  const first = items[0]!;
  const deviceIds = items.map((i) => i.deviceId);
  // Durable before the chain sees anything: no enrollment without its operator on record.
  await ctx.audit.record(
    { at: ctx.now(), event: "enroll-requested", operator, deviceIds },
    { durable: true },
  );
  const intent = { action: "enroll" as const, deviceIds, operator, waitForIndex: options.wait !== false };
  const receipt = await sendRegistryTransaction(ctx, intent, (fees) =>
    items.length === 1
      ? ctx.registry.enroll(clusterId, `0x${first.deviceId}`, first.keyAddress, fees)
      : ctx.registry.enrollBatch(
          clusterId,
          items.map((i) => `0x${i.deviceId}`),
          items.map((i) => i.keyAddress),
          fees,
        ),
  );
  ctx.logger.info(
    { devices: items.length, tx: receipt.transactionHash, block: receipt.blockNumber, operator },
    "devices enrolled",
  );
  await recordOutcome(ctx, {
    event: "enrolled",
    operator,
    deviceIds,
    transactionHash: receipt.transactionHash,
  });
  return {
    transactionHash: receipt.transactionHash,
    blockNumber: receipt.blockNumber,
    devices: items.map(({ deviceId, keyAddress }) => ({ deviceId, keyAddress })),
    ...(receipt.pending ? { pending: receipt.pending } : {}),
  };
}
