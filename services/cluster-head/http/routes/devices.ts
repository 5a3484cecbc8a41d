/** Operator routes for devices: enroll (single and batch), list and search, read, revoke, rotate. */
import { type RequestHandler, Router } from "express";
import { z } from "zod";
import type { HeadContext } from "../../context";
import { enrollDevices } from "../../use-cases/enroll-devices";
import { listClusterDevices } from "../../use-cases/list-devices";
import { readClusterDevice, revokeDevice, rotateDeviceKey } from "../../use-cases/manage-device";
import { operatorOf, requireScope } from "../operator-auth";
import { deviceIdParamsSchema, enrollBatchSchema, enrollItemSchema, rotateSchema } from "../schemas";

/** `GET /v1/devices?query=&cursor=&limit=&status=`: a search is hex that an ID or key address contains. */
export const listDevicesQuerySchema = z.strictObject({
  query: z
    .string()
    .regex(/^(0x)?[0-9a-fA-F]{0,64}$/, "hex digits of a device ID or key address (up to 64)")
    .transform((s) => s.toLowerCase().replace(/^0x/, ""))
    .default(""),
  cursor: z
    .string()
    .regex(/^[0-9a-f]{64}$/, "the nextCursor of the previous page")
    .optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  status: z.enum(["active", "revoked"]).optional(),
});

/**
 * `?wait=false` on enroll, revoke and rotate: answer (202, with `pending`) once the transaction is
 * mined instead of once the index holds it after the confirmations (the default).
 */
export const waitQuerySchema = z.object({ wait: z.enum(["true", "false"]).default("true") });

function waitOption(query: unknown): { wait: boolean } {
  return { wait: waitQuerySchema.parse(query).wait === "true" };
}

/** @param jsonBody - the JSON body parser (size-limited), run after the operator is authorised */
export function devicesRouter(ctx: HeadContext, jsonBody: RequestHandler): Router {
  const router = Router();
  // Rotation binds a device ID to a new key, as enrollment does: the same scope.
  const enroller = requireScope(ctx, "enroll");
  const revoker = requireScope(ctx, "revoke");
  const reader = requireScope(ctx, "read");

  router.get("/v1/devices", reader, async (req, res) => {
    res.json(await listClusterDevices(ctx, listDevicesQuerySchema.parse(req.query)));
  });

  router.post("/v1/devices", enroller, jsonBody, async (req, res) => {
    const item = enrollItemSchema.parse(req.body);
    const result = await enrollDevices(ctx, [item], operatorOf(res).name, waitOption(req.query));
    res.status(result.pending ? 202 : 201).json(result);
  });

  router.post("/v1/devices/batch", enroller, jsonBody, async (req, res) => {
    const { devices } = enrollBatchSchema.parse(req.body);
    const result = await enrollDevices(ctx, devices, operatorOf(res).name, waitOption(req.query));
    res.status(result.pending ? 202 : 201).json(result);
  });

  router.get("/v1/devices/:deviceId", async (req, res) => {
    const { deviceId } = deviceIdParamsSchema.parse(req.params);
    res.json(await readClusterDevice(ctx, deviceId));
  });

  router.post("/v1/devices/:deviceId/revoke", revoker, async (req, res) => {
    const { deviceId } = deviceIdParamsSchema.parse(req.params);
    const result = await revokeDevice(ctx, deviceId, operatorOf(res).name, waitOption(req.query));
    res.status(result.pending ? 202 : 200).json(result);
  });

  router.post("/v1/devices/:deviceId/rotate", enroller, jsonBody, async (req, res) => {
    const { deviceId } = deviceIdParamsSchema.parse(req.params);
    const { keyAddress, proof } = rotateSchema.parse(req.body);
    const result = await rotateDeviceKey(
      ctx,
      deviceId,
      keyAddress,
      proof,
      operatorOf(res).name,
      waitOption(req.query),
    );
    res.status(result.pending ? 202 : 200).json(result);
  });

  return router;
}
