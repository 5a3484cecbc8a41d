/**
 * The query string of `GET /v1/readings`, validated by one zod schema (also in the OpenAPI
 * document), and its opaque cursor: the (device time, id) of the last reading of the page.
 * @module
 */
import { z } from "zod";
import { CollectorError } from "../errors";

export const MAX_PAGE = 1000;
export const DEFAULT_PAGE = 100;

/** A time as epoch milliseconds or an ISO 8601 date-time. */
const instant = z.string().transform((text, ctx) => {
  const ms = /^\d{1,16}$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isSafeInteger(ms)) {
    ctx.addIssue({ code: "custom", message: "expected epoch milliseconds or an ISO 8601 date-time" });
    return z.NEVER;
  }
  return ms;
});

export const readingsQuerySchema = z
  .object({
    device: z
      .string()
      .regex(/^(0x)?[0-9a-fA-F]{64}$/, "a 64-hex device ID")
      .transform((d) => d.replace(/^0x/, "").toLowerCase())
      .optional(),
    from: instant.optional(),
    to: instant.optional(),
    limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(DEFAULT_PAGE),
    cursor: z.string().max(200).optional(),
  })
  .strict();

export type ReadingsQuery = z.infer<typeof readingsQuerySchema>;

/** Encodes the position after which the next page starts. */
export function encodeCursor(position: { timeMs: number; id: number }): string {
  return Buffer.from(`${position.timeMs}.${position.id}`).toString("base64url");
}

/** @throws CollectorError E_VALIDATION on a cursor this API did not make */
export function decodeCursor(cursor: string): { timeMs: number; id: number } {
  const m = /^(\d{1,16})\.(\d{1,16})$/.exec(Buffer.from(cursor, "base64url").toString());
  const timeMs = Number(m?.[1]);
  const id = Number(m?.[2]);
  if (!m || !Number.isSafeInteger(timeMs) || !Number.isSafeInteger(id))
    throw new CollectorError("E_VALIDATION", "cursor: not a cursor from this API");
  return { timeMs, id };
}
