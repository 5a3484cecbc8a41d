/**
 * Operator authentication and authorisation: the bearer token names an operator
 * (use-cases/operators.ts), and each operator route needs one scope. A missing or unknown token
 * is `E_UNAUTHORIZED` (401); a known operator without the scope is `E_FORBIDDEN` (403).
 */
import type { RequestHandler, Response } from "express";
import type { HeadContext } from "../context";
import { HeadError } from "../errors";
import type { OperatorScope } from "../stores/operator-store";
import type { Operator } from "../use-cases/operators";

/** Admits the request when its bearer token is an operator holding `scope`. */
export function requireScope(ctx: HeadContext, scope: OperatorScope): RequestHandler {
  return (req, res, next) => {
    const match = /^Bearer ([\x21-\x7e]{1,512})$/.exec(req.get("authorization") ?? "");
    if (!match) {
      next(new HeadError("E_UNAUTHORIZED", "operator token missing or wrong"));
      return;
    }
    ctx.operators.authenticate(match[1]!).then((operator) => {
      if (!operator) return next(new HeadError("E_UNAUTHORIZED", "operator token missing or wrong"));
      if (!operator.scopes.includes(scope))
        return next(
          new HeadError("E_FORBIDDEN", `operator ${operator.name} does not hold the ${scope} scope`),
        );
      (res.locals as { operator?: Operator }).operator = operator;
      next();
    }, next);
  };
}

/** The operator {@link requireScope} admitted for this response. */
export function operatorOf(res: Response): Operator {
  const operator = (res.locals as { operator?: Operator }).operator;
  if (!operator) throw new Error("operatorOf: route without requireScope");
  return operator;
}
