/**
 * Operator actions on one enrolled device: read it, revoke it, rotate its key. Each writes to the
 * chain and waits for the index to see the change before answering (or, with `wait: false`, for
 * the block, answering with the confirmations left).
 */
import { getBytes } from "ethers";
import { fromHex, isProtocolError, verifyEnrollmentProof } from "../../../protocol";
import type { HeadContext } from "../context";
import { HeadError } from "../errors";
import type { DeviceRecord } from "../stores/registry-index-store";
import { recordOutcome } from "./record-outcome";
import { requireServingIndex } from "./require-serving-index";
import { pendingOfDevice, type PendingView } from "./pending-transactions";
import { sendRegistryTransaction } from "./send-registry-transaction";

/** The indexed record of a device of this cluster. */
export async function getClusterDevice(ctx: HeadContext, deviceId: string): Promise<DeviceRecord> {
  requireServingIndex(ctx);
  const device = await ctx.index.getDevice(deviceId);
  if (!device) throw new HeadError("E_NOT_FOUND", `device ${deviceId} is not enrolled`);
  if (device.clusterId !== ctx.config.clusterId) {
    throw new HeadError("E_WRONG_CLUSTER", `device ${deviceId} belongs to cluster ${device.clusterId}`);
  }
  return device;
}

/**
 * A device as `GET /v1/devices/:id` shows it: the indexed record and, while a transaction this
 * head sent about it waits for confirmations, `pending`; a device whose enrollment is pending is
 * shown with `status: "pending"`.
 */
export async function readClusterDevice(
  ctx: HeadContext,
  deviceId: string,
): Promise<
  (DeviceRecord | { deviceId: string; status: "pending"; clusterId: number }) & { pending?: PendingView }
> {
  requireServingIndex(ctx);
  const pending = pendingOfDevice(ctx, deviceId);
  if (pending?.action === "enroll" && !(await ctx.index.getDevice(deviceId)))
    return { deviceId, status: "pending", clusterId: ctx.config.clusterId, pending };
  const device = await getClusterDevice(ctx, deviceId);
  return pending ? { ...device, pending } : device;
}

async function activeClusterDevice(ctx: HeadContext, deviceId: string): Promise<DeviceRecord> {
  const device = await getClusterDevice(ctx, deviceId);
  if (device.status !== "active") throw new HeadError("E_REVOKED", `device ${deviceId} is revoked`);
  return device;
}

/**
 * Revokes a device on chain on behalf of `operator` (named in the audit log before and after);
 * the index follower then ends its membership and sessions.
 */
export async function revokeDevice(
  ctx: HeadContext,
  deviceId: string,
  operator: string,
  options: { wait?: boolean } = {},
) {
  await activeClusterDevice(ctx, deviceId);
  await ctx.audit.record({ at: ctx.now(), event: "revoke-requested", operator, deviceId }, { durable: true });
  const intent = {
    action: "revoke" as const,
    deviceIds: [deviceId],
    operator,
    waitForIndex: options.wait !== false,
  };
  const result = await sendRegistryTransaction(ctx, intent, (fees) =>
    ctx.registry.revoke(`0x${deviceId}`, fees),
  );
  ctx.logger.info({ deviceId, tx: result.transactionHash, operator }, "device revoked");
  await recordOutcome(ctx, { event: "revoked", operator, deviceId, transactionHash: result.transactionHash });
  return result;
}

/** Rotates a device's key on behalf of `operator` after checking the new key's proof of possession. */
export async function rotateDeviceKey(
  ctx: HeadContext,
  deviceId: string,
  keyAddress: string,
  proof: string,
  operator: string,
  options: { wait?: boolean } = {},
) {
  const device = await activeClusterDevice(ctx, deviceId);
  if (device.keyAddress.toLowerCase() === keyAddress)
    throw new HeadError("E_VALIDATION", "the new key is the current key");
  try {
    verifyEnrollmentProof(
      {
        clusterId: ctx.config.clusterId,
        deviceId: fromHex(deviceId),
        keyAddress: getBytes(keyAddress),
        keyVersion: device.keyVersion + 1,
      },
      getBytes(proof),
    );
  } catch (error) {
    if (isProtocolError(error))
      throw new HeadError(
        "E_BAD_PROOF",
        `the proof is not a signature by ${keyAddress} for key version ${device.keyVersion + 1}`,
      );
    throw error;
  }
  const keyVersion = device.keyVersion + 1;
  await ctx.audit.record(
    { at: ctx.now(), event: "rotate-requested", operator, deviceId, keyAddress, keyVersion },
    { durable: true },
  );
  const intent = {
    action: "rotate" as const,
    deviceIds: [deviceId],
    operator,
    waitForIndex: options.wait !== false,
  };
  const result = await sendRegistryTransaction(ctx, intent, (fees) =>
    ctx.registry.rotateKey(`0x${deviceId}`, keyAddress, fees),
  );
  ctx.logger.info({ deviceId, tx: result.transactionHash, operator }, "device key rotated");
  await recordOutcome(ctx, {
    event: "rotated",
    operator,
    deviceId,
    keyVersion,
    transactionHash: result.transactionHash,
  });
  return { ...result, keyVersion };
}
