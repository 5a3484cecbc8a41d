/** Operator routes for devices: enroll (single and batch), read, revoke, rotate. */
import { type RequestHandler, Router } from "express";
import type { HeadContext } from "../../context";
import { enrollDevices } from "../../use-cases/enroll-devices";
import { getClusterDevice, revokeDevice, rotateDeviceKey } from "../../use-cases/manage-device";
import { operatorOf, requireScope } from "../operator-auth";
import { deviceIdParamsSchema, enrollBatchSchema, enrollItemSchema, rotateSchema } from "../schemas";

/** @param jsonBody - the JSON body parser (size-limited), run after the operator is authorised */
export function devicesRouter(ctx: HeadContext, jsonBody: RequestHandler): Router {
  const router = Router();
  // Rotation binds a device ID to a new key, as enrollment does: the same scope.
  const enroller = requireScope(ctx, "enroll");
  const revoker = requireScope(ctx, "revoke");

  router.post("/v1/devices", enroller, jsonBody, async (req, res) => {
    const item = enrollItemSchema.parse(req.body);
    res.status(201).json(await enrollDevices(ctx, [item], operatorOf(res).name));
  });

  router.post("/v1/devices/batch", enroller, jsonBody, async (req, res) => {
    const { devices } = enrollBatchSchema.parse(req.body);
    res.status(201).json(await enrollDevices(ctx, devices, operatorOf(res).name));
  });

  router.get("/v1/devices/:deviceId", async (req, res) => {
    const { deviceId } = deviceIdParamsSchema.parse(req.params);
    res.json(await getClusterDevice(ctx, deviceId));
  });

  router.post("/v1/devices/:deviceId/revoke", revoker, async (req, res) => {
    const { deviceId } = deviceIdParamsSchema.parse(req.params);
    res.json(await revokeDevice(ctx, deviceId, operatorOf(res).name));
  });

  router.post("/v1/devices/:deviceId/rotate", enroller, jsonBody, async (req, res) => {
    const { deviceId } = deviceIdParamsSchema.parse(req.params);
    const { keyAddress, proof } = rotateSchema.parse(req.body);
    res.json(await rotateDeviceKey(ctx, deviceId, keyAddress, proof, operatorOf(res).name));
  });

  return router;
}
