/**
 * Operator authentication: a bearer token compared in constant time. Both sides are hashed first
 * so the comparison time does not depend on where they differ or on their lengths.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { RequestHandler } from "express";
import { HeadError } from "../errors";

export function requireOperator(adminToken: string): RequestHandler {
  const expected = createHash("sha256").update(adminToken).digest();
  return (req, _res, next) => {
    const header = req.get("authorization") ?? "";
    const match = /^Bearer ([\x21-\x7e]{1,512})$/.exec(header);
    const presented = createHash("sha256")
      .update(match?.[1] ?? "")
      .digest();
    if (!match || !timingSafeEqual(presented, expected)) {
      next(new HeadError("E_UNAUTHORIZED", "operator token missing or wrong"));
      return;
    }
    next();
  };
}
