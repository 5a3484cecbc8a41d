/** Operator routes for devices: enroll (single and batch), read, revoke, rotate. */
import { Router } from "express";
import type { HeadContext } from "../../context";
import { enrollDevices } from "../../use-cases/enroll-devices";
import { getClusterDevice, revokeDevice, rotateDeviceKey } from "../../use-cases/manage-device";
import { requireOperator } from "../operator-auth";
import { deviceIdParamsSchema, enrollBatchSchema, enrollItemSchema, rotateSchema } from "../schemas";

export function devicesRouter(ctx: HeadContext, adminToken: string): Router {
  const router = Router();
  const operator = requireOperator(adminToken);

  router.post("/v1/devices", operator, async (req, res) => {
    const item = enrollItemSchema.parse(req.body);
    res.status(201).json(await enrollDevices(ctx, [item]));
  });

  router.post("/v1/devices/batch", operator, async (req, res) => {
    const { devices } = enrollBatchSchema.parse(req.body);
    res.status(201).json(await enrollDevices(ctx, devices));
  });

  router.get("/v1/devices/:deviceId", async (req, res) => {
    const { deviceId } = deviceIdParamsSchema.parse(req.params);
    res.json(await getClusterDevice(ctx, deviceId));
  });

  router.post("/v1/devices/:deviceId/revoke", operator, async (req, res) => {
    const { deviceId } = deviceIdParamsSchema.parse(req.params);
    res.json(await revokeDevice(ctx, deviceId));
  });

  router.post("/v1/devices/:deviceId/rotate", operator, async (req, res) => {
    const { deviceId } = deviceIdParamsSchema.parse(req.params);
    const { keyAddress, proof } = rotateSchema.parse(req.body);
    res.json(await rotateDeviceKey(ctx, deviceId, keyAddress, proof));
  });

  return router;
}
