/**
 * Operator actions on one enrolled device: read it, revoke it, rotate its key. Each writes to the
 * chain and waits for the index to see the change before answering.
 */
import { getBytes } from "ethers";
import { fromHex } from "../../../protocol/bytes";
import { verifyEnrollmentProof } from "../../../protocol/enrollment";
import { isProtocolError } from "../../../protocol/errors";
import type { HeadContext } from "../context";
import { HeadError } from "../errors";
import type { DeviceRecord } from "../stores/registry-index-store";
import { requireServingIndex } from "./require-serving-index";
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

async function activeClusterDevice(ctx: HeadContext, deviceId: string): Promise<DeviceRecord> {
  const device = await getClusterDevice(ctx, deviceId);
  if (device.status !== "active") throw new HeadError("E_REVOKED", `device ${deviceId} is revoked`);
  return device;
}

/** Revokes a device on chain; the index follower then ends its membership and sessions. */
export async function revokeDevice(ctx: HeadContext, deviceId: string) {
  await activeClusterDevice(ctx, deviceId);
  const result = await sendRegistryTransaction(ctx, () => ctx.registry.revoke(`0x${deviceId}`));
  ctx.logger.info({ deviceId, tx: result.transactionHash }, "device revoked");
  return result;
}

/** Rotates a device's key after checking the new key's proof of possession. */
export async function rotateDeviceKey(ctx: HeadContext, deviceId: string, keyAddress: string, proof: string) {
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
  const result = await sendRegistryTransaction(ctx, () => ctx.registry.rotateKey(`0x${deviceId}`, keyAddress));
  ctx.logger.info({ deviceId, tx: result.transactionHash }, "device key rotated");
  return { ...result, keyVersion: device.keyVersion + 1 };
}
