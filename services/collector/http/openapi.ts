/**
 * The collector's OpenAPI 3.1 document, served at /openapi.json. The query parameters come from
 * the zod schema that validates them; a test checks every route of the app is here.
 */
import { z } from "zod";
import { READING_FIELDS } from "../../../telemetry";
import { ALL_COLLECTOR_ERROR_CODES } from "../errors";
import { readingsQuerySchema } from "./readings-query";

const errorRef = { $ref: "#/components/schemas/Error" };
const errors = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((s) => [
      String(s),
      { description: "refused", content: { "application/json": { schema: errorRef } } },
    ]),
  );

function queryParameters() {
  const schema = z.toJSONSchema(readingsQuerySchema, { io: "input", unrepresentable: "any" }) as {
    properties: Record<string, unknown>;
  };
  const descriptions: Record<string, string> = {
    device: "only this device (64 hex)",
    from: "device time from (inclusive): epoch ms or ISO 8601",
    to: "device time to (exclusive): epoch ms or ISO 8601",
    limit: "readings per page (1–1000, default 100)",
    cursor: "`nextCursor` of the previous page",
  };
  return Object.entries(schema.properties).map(([name, s]) => ({
    name,
    in: "query",
    required: false,
    description: descriptions[name],
    schema: s,
  }));
}

const readingSchema = {
  type: "object",
  properties: {
    id: { type: "integer", description: "storage order" },
    deviceId: { type: "string", description: "64 hex, from the session the reading arrived on" },
    streamId: { type: "string", description: "16 hex" },
    index: { type: "integer" },
    ...Object.fromEntries(
      READING_FIELDS.map((f) => [
        f.name,
        { type: "integer", minimum: f.min, maximum: f.max, description: f.unit },
      ]),
    ),
    sessionId: { type: "string", description: "16 hex: the session whose frame delivered it" },
    frameSeq: { type: "string", description: "that frame's sequence number (decimal)" },
    receivedAt: { type: "string", format: "date-time" },
  },
};

export function openApiDocument(version: string) {
  return {
    openapi: "3.1.0",
    info: {
      title: "iotguard collector",
      version,
      description:
        "Readings stored by an iotguard telemetry collector (docs/telemetry.md). The bearer token is in <data-dir>/api-token.",
    },
    components: {
      securitySchemes: {
        collectorToken: { type: "http", scheme: "bearer", description: "the collector's API token" },
      },
      schemas: {
        Error: {
          type: "object",
          required: ["error"],
          properties: {
            error: {
              type: "object",
              required: ["code", "message"],
              properties: {
                code: { type: "string", enum: [...ALL_COLLECTOR_ERROR_CODES] },
                message: { type: "string" },
              },
            },
          },
        },
        Reading: readingSchema,
      },
    },
    paths: {
      "/health": {
        get: {
          summary: "liveness, the device ID and whether the database accepts writes",
          responses: { "200": { description: "status" } },
        },
      },
      "/metrics": {
        get: {
          summary: "Prometheus metrics (no contents of readings)",
          responses: { "200": { description: "text" } },
        },
      },
      "/openapi.json": {
        get: { summary: "this document", responses: { "200": { description: "OpenAPI 3.1" } } },
      },
      "/v1/readings": {
        get: {
          summary: "stored readings by device time, paged with a cursor",
          security: [{ collectorToken: [] }],
          parameters: queryParameters(),
          responses: {
            "200": {
              description: "a page",
              content: {
                "application/json": {
                  schema: {
                    type: "object",
                    properties: {
                      readings: { type: "array", items: { $ref: "#/components/schemas/Reading" } },
                      nextCursor: { type: ["string", "null"] },
                    },
                  },
                },
              },
            },
            ...errors(400, 401, 503),
          },
        },
      },
    },
  };
}
