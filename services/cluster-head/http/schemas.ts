/**
 * Request schemas, validated at the edge. Each schema is also the TypeScript type of what the
 * use cases receive. Hex inputs are normalised (lowercase, no 0x for IDs; checksummed 0x for
 * addresses is not required, comparisons are case-insensitive).
 */
import { z } from "zod";
import { OPERATOR_SCOPES } from "../stores/operator-store";
import { OPERATOR_NAME_PATTERN } from "../use-cases/operators";

/** 32-byte device ID: 64 hex digits, with or without 0x; normalised to lowercase without 0x. */
export const deviceIdSchema = z
  .string()
  .regex(/^(0x)?[0-9a-fA-F]{64}$/, "a 32-byte hex device ID (64 hex digits)")
  .transform((s) => s.toLowerCase().replace(/^0x/, ""));

/** 20-byte key address, 0x-prefixed; normalised to lowercase. */
export const addressSchema = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, "a 0x-prefixed 20-byte address")
  .transform((s) => s.toLowerCase());

/** 65-byte recoverable ECDSA signature, 0x-prefixed hex. */
export const proofSchema = z.string().regex(/^0x[0-9a-fA-F]{130}$/, "a 0x-prefixed 65-byte signature");

export const enrollItemSchema = z.strictObject({
  deviceId: deviceIdSchema,
  keyAddress: addressSchema,
  proof: proofSchema,
});
export type EnrollItem = z.infer<typeof enrollItemSchema>;

/** Batches are bounded so one request can never exceed a block's gas. */
export const MAX_BATCH = 200;
export const enrollBatchSchema = z.strictObject({
  devices: z.array(enrollItemSchema).min(1).max(MAX_BATCH),
});

export const rotateSchema = z.strictObject({
  keyAddress: addressSchema,
  proof: proofSchema,
});

export const deviceIdParamsSchema = z.strictObject({ deviceId: deviceIdSchema });

/** `POST /v1/operators`: a new operator's name and scopes. */
export const addOperatorSchema = z.strictObject({
  name: z.string().regex(OPERATOR_NAME_PATTERN, "lowercase letters, digits, '.', '_' or '-' (1–64)"),
  scopes: z.array(z.enum(OPERATOR_SCOPES)).min(1).max(OPERATOR_SCOPES.length),
});

export const operatorNameParamsSchema = z.strictObject({
  name: z.string().regex(OPERATOR_NAME_PATTERN, "an operator name"),
});

/** `GET /v1/audit?limit=N`: the newest N rows (default 100). */
export const auditQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
