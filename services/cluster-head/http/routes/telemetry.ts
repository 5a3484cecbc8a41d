/**
 * `GET /v1/telemetry/readings` (scope read): the telemetry collector's `GET /v1/readings`
 * (docs/telemetry.md § Reading back) proxied with the collector's token, so the dashboard stays
 * same-origin under its CSP (`connect-src 'self'`) and never holds that token.
 */
import { Router } from "express";
import { z } from "zod";
import type { CollectorClient } from "../../collector-client";
import type { HeadContext } from "../../context";
import { HeadError } from "../../errors";
import { requireScope } from "../operator-auth";

/** The collector's query, checked here too so that a bad one never leaves the head. */
export const telemetryReadingsQuerySchema = z
  .object({
    device: z
      .string()
      .regex(/^(0x)?[0-9a-fA-F]{64}$/, "a 64-hex device ID")
      .optional(),
    from: z
      .string()
      .regex(/^(\d{1,16}|\d{4}-\d{2}-\d{2}[T0-9:.+\-Z]*)$/, "epoch milliseconds or an ISO 8601 date-time")
      .optional(),
    to: z
      .string()
      .regex(/^(\d{1,16}|\d{4}-\d{2}-\d{2}[T0-9:.+\-Z]*)$/, "epoch milliseconds or an ISO 8601 date-time")
      .optional(),
    limit: z
      .string()
      .regex(/^\d{1,4}$/, "an integer 1–1000")
      .optional(),
    cursor: z.string().max(200).optional(),
  })
  .strict();

export function telemetryRouter(ctx: HeadContext, collector: CollectorClient | undefined): Router {
  const router = Router();
  router.get("/v1/telemetry/readings", requireScope(ctx, "read"), async (req, res) => {
    const query = telemetryReadingsQuerySchema.parse(req.query);
    if (!collector)
      throw new HeadError(
        "E_COLLECTOR_NOT_CONFIGURED",
        "this head has no telemetry collector (start it with --collector-url and --collector-token-file)",
      );
    const passed = Object.fromEntries(
      Object.entries(query).filter((entry): entry is [string, string] => entry[1] !== undefined),
    );
    res.json(await collector.readings(passed));
  });
  return router;
}
