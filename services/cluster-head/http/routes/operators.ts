/** Operator accounts (`admin` scope) and the audit log (`read` scope). */
import { type RequestHandler, Router } from "express";
import type { HeadContext } from "../../context";
import { operatorOf, requireScope } from "../operator-auth";
import { addOperatorSchema, auditQuerySchema, operatorNameParamsSchema } from "../schemas";

/** @param jsonBody - the JSON body parser (size-limited), run after the operator is authorised */
export function operatorsRouter(ctx: HeadContext, jsonBody: RequestHandler): Router {
  const router = Router();
  const admin = requireScope(ctx, "admin");
  const reader = requireScope(ctx, "read");

  router.get("/v1/operators", admin, (_req, res) => {
    res.json({ operators: ctx.operators.list() });
  });

  // The answer carries the new token: the only time it leaves the head.
  router.post("/v1/operators", admin, jsonBody, async (req, res) => {
    const { name, scopes } = addOperatorSchema.parse(req.body);
    res.setHeader("cache-control", "no-store");
    res.status(201).json(await ctx.operators.add(operatorOf(res), name, scopes));
  });

  router.delete("/v1/operators/:name", admin, async (req, res) => {
    const { name } = operatorNameParamsSchema.parse(req.params);
    await ctx.operators.remove(operatorOf(res), name);
    res.json({ name, removed: true });
  });

  router.get("/v1/audit", reader, async (req, res) => {
    const { limit } = auditQuerySchema.parse(req.query);
    res.json({ entries: await ctx.audit.latest(limit) });
  });

  return router;
}
