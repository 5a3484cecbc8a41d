/**
 * The OpenAPI 3.1 document served at /openapi.json. Request schemas are generated from the same
 * zod schemas that validate requests, and a test checks that every route of the app is here.
 */
import { z } from "zod";
import { ALL_HEAD_ERROR_CODES } from "../errors";
import { waitQuerySchema } from "./routes/devices";
import { telemetryReadingsQuerySchema } from "./routes/telemetry";
import { addOperatorSchema, enrollBatchSchema, enrollItemSchema, rotateSchema } from "./schemas";

const json = (schema: z.ZodType) => z.toJSONSchema(schema, { io: "input", unrepresentable: "any" });
const binary = { "application/octet-stream": { schema: { type: "string", format: "binary" } } };
const errorRef = { $ref: "#/components/schemas/Error" };
const errors = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((s) => [
      String(s),
      { description: "refused", content: { "application/json": { schema: errorRef } } },
    ]),
  );
const operatorSecurity = [{ operatorToken: [] }];
const deviceIdParam = {
  name: "deviceId",
  in: "path",
  required: true,
  schema: { type: "string", pattern: "^(0x)?[0-9a-fA-F]{64}$" },
};
const ok = (description: string, content?: unknown) => ({ description, ...(content ? { content } : {}) });
const jsonBody = (schema: z.ZodType) => ({
  required: true,
  content: { "application/json": { schema: json(schema) } },
});
const jsonOf = (name: string) => ({
  "application/json": { schema: { $ref: `#/components/schemas/${name}` } },
});
/** `?wait=false` on the routes that send a registry transaction (routes/devices.ts). */
const waitParam = {
  name: "wait",
  in: "query",
  required: false,
  description:
    "true (default): answer once the head's index holds the transaction, after --confirmations blocks. false: answer once it is mined, with 202 and `pending` when confirmations are still to come",
  schema: json(waitQuerySchema).properties?.["wait"],
};
/** The answers of a route that sends a registry transaction: done, or (with wait=false) mined and pending. */
const sent = (done: "201" | "200", schema: string, description: string) => ({
  [done]: ok(`${description}: the index holds it`, jsonOf(schema)),
  "202": ok(
    `${description} in a block, not yet confirmed (only with wait=false): \`pending\` says the confirmations left`,
    jsonOf(schema),
  ),
});

export function openApiDocument(version: string) {
  return {
    openapi: "3.1.0",
    info: {
      title: "iotguard cluster head",
      version,
      description:
        "Enrollment (operator), join and session grants (devices) of one iotguard cluster. Protocol messages are binary; see docs/protocol.md for their layouts.",
    },
    components: {
      securitySchemes: {
        operatorToken: {
          type: "http",
          scheme: "bearer",
          description:
            "an operator's token; each route needs one scope: enroll, revoke, read or admin (docs/api.md § Operators)",
        },
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
                code: { type: "string", enum: [...ALL_HEAD_ERROR_CODES] },
                message: { type: "string" },
              },
            },
          },
        },
        Pending: {
          type: "object",
          description:
            "a registry transaction this head sent whose effect its index does not hold yet (use-cases/pending-transactions.ts)",
          required: ["action", "txHash", "block", "confirmationsLeft"],
          properties: {
            action: { type: "string", enum: ["enroll", "revoke", "rotate"] },
            txHash: { type: "string", pattern: "^0x[0-9a-f]{64}$" },
            block: { type: ["integer", "null"], description: "the block it was mined in; null until then" },
            confirmationsLeft: {
              type: "integer",
              minimum: 0,
              description:
                "blocks still to come before the index holds it (counting the block to mine it in)",
            },
          },
        },
        Transaction: {
          type: "object",
          required: ["transactionHash", "blockNumber"],
          properties: {
            transactionHash: { type: "string" },
            blockNumber: { type: "integer" },
            keyVersion: { type: "integer", description: "rotation only: the new key version" },
            pending: { $ref: "#/components/schemas/Pending" },
          },
        },
        Enrollment: {
          type: "object",
          required: ["transactionHash", "blockNumber", "devices"],
          properties: {
            transactionHash: { type: "string" },
            blockNumber: { type: "integer" },
            devices: {
              type: "array",
              items: {
                type: "object",
                required: ["deviceId", "keyAddress"],
                properties: { deviceId: { type: "string" }, keyAddress: { type: "string" } },
              },
            },
            pending: { $ref: "#/components/schemas/Pending" },
          },
        },
        Health: {
          type: "object",
          required: ["status", "clusterId", "headAddress", "chain", "broker", "members"],
          properties: {
            status: { type: "string", enum: ["ok", "degraded"] },
            clusterId: { type: "integer" },
            headAddress: { type: "string" },
            chain: {
              type: "object",
              description: "reachable, and the index follower's status (state, blocks, rewinds)",
            },
            broker: { type: "object" },
            members: { type: "integer" },
            wallet: { $ref: "#/components/schemas/Wallet" },
          },
        },
        Wallet: {
          type: "object",
          description: "what the head's own key pays with (use-cases/head-wallet.ts; docs/operations.md)",
          required: ["address", "balance", "lowBalance"],
          properties: {
            address: { type: "string" },
            balance: { type: "string", description: "in ether, exact decimal" },
            costPerEnrollment: {
              type: "string",
              description: "fee per device of the head's last enrollment, in ether; absent before the first",
            },
            enrollmentsLeft: { type: "integer", description: "enrollments the balance still pays for" },
            lowBalance: { type: "boolean" },
          },
        },
      },
    },
    paths: {
      "/v1/devices": {
        post: {
          summary: "Enroll one device on chain",
          security: operatorSecurity,
          parameters: [waitParam],
          requestBody: jsonBody(enrollItemSchema),
          responses: {
            ...sent("201", "Enrollment", "enrolled"),
            ...errors(400, 401, 403, 409, 413, 415, 503),
          },
        },
        get: {
          summary:
            "This cluster's devices with their membership, searched and paged in device-ID order (scope read)",
          security: operatorSecurity,
          parameters: [
            {
              name: "query",
              in: "query",
              required: false,
              description: "hex that the device ID or key address contains",
              schema: { type: "string", pattern: "^(0x)?[0-9a-fA-F]{0,64}$" },
            },
            {
              name: "cursor",
              in: "query",
              required: false,
              description: "the nextCursor of the previous page",
              schema: { type: "string", pattern: "^[0-9a-f]{64}$" },
            },
            {
              name: "limit",
              in: "query",
              required: false,
              schema: { type: "integer", minimum: 1, maximum: 200 },
            },
            {
              name: "status",
              in: "query",
              required: false,
              schema: { type: "string", enum: ["active", "revoked"] },
            },
          ],
          responses: {
            "200": ok("{devices, nextCursor?, partial}"),
            ...errors(400, 401, 403, 503),
          },
        },
      },
      "/v1/devices/batch": {
        post: {
          summary: "Enroll up to 200 devices in one transaction",
          security: operatorSecurity,
          parameters: [waitParam],
          requestBody: jsonBody(enrollBatchSchema),
          responses: { ...sent("201", "Enrollment", "enrolled"), ...errors(400, 401, 403, 409, 413, 503) },
        },
      },
      "/v1/devices/{deviceId}": {
        get: {
          summary:
            "A device's indexed registry record, with `pending` while a transaction this head sent about it waits for confirmations (status `pending` while its enrollment does)",
          parameters: [deviceIdParam],
          responses: { "200": ok("the record"), ...errors(400, 403, 404, 429, 503) },
        },
      },
      "/v1/devices/{deviceId}/revoke": {
        post: {
          summary: "Revoke a device on chain; its membership and sessions end",
          security: operatorSecurity,
          parameters: [deviceIdParam, waitParam],
          responses: { ...sent("200", "Transaction", "revoked"), ...errors(400, 401, 403, 404, 503) },
        },
      },
      "/v1/devices/{deviceId}/rotate": {
        post: {
          summary: "Rotate a device's key (proof of possession of the new key)",
          security: operatorSecurity,
          parameters: [deviceIdParam, waitParam],
          requestBody: jsonBody(rotateSchema),
          responses: { ...sent("200", "Transaction", "rotated"), ...errors(400, 401, 403, 404, 503) },
        },
      },
      "/v1/join/challenge": {
        post: {
          summary: "A fresh single-use JoinChallenge",
          description: "Takes no body: any body is refused (E_VALIDATION).",
          responses: { "200": ok("JoinChallenge", binary), ...errors(400, 429, 503) },
        },
      },
      "/v1/join": {
        post: {
          summary: "Join with a signed JoinRequest; answers the JoinResponse",
          requestBody: { required: true, content: binary },
          responses: {
            "200": ok("JoinResponse", binary),
            ...errors(400, 401, 403, 409, 413, 415, 429, 503),
            "409": {
              description:
                "refused; E_ENROLLMENT_PENDING: the device's enrollment was sent by this head but is not confirmed yet (the message says the block and the confirmations left): join again then",
              content: { "application/json": { schema: errorRef } },
            },
          },
        },
      },
      "/v1/sessions": {
        post: {
          summary:
            "M2 forwards M1's SessionRequest in a GrantRequest; answers M2's Grant alone (the head delivered M1's on M1's ctl topic, when asked with x-iotguard-grant-delivery: direct), two Grants (responder's, then initiator's, which M2 relays) or a GrantWarning",
          parameters: [
            {
              name: "x-iotguard-grant-delivery",
              in: "header",
              required: false,
              description: "direct: the head delivers M1's Grant to M1 itself when it can (docs/api.md)",
              schema: { type: "string", enum: ["direct"] },
            },
          ],
          requestBody: { required: true, content: binary },
          responses: {
            "200": ok(
              "Grant, Grant+Grant or GrantWarning (header x-iotguard-outcome: delivered | grant | warning)",
              binary,
            ),
            ...errors(400, 401, 403, 409, 413, 415, 429, 503),
          },
        },
        get: {
          summary: "Sessions granted by this head (no keys)",
          security: operatorSecurity,
          responses: { "200": ok("sessions"), ...errors(401, 403) },
        },
      },
      "/v1/operators": {
        get: {
          summary: "Operators and their scopes, never tokens (scope admin)",
          security: operatorSecurity,
          responses: { "200": ok("operators"), ...errors(401, 403) },
        },
        post: {
          summary: "Add a named operator (scope admin); the answer holds its token, shown only once",
          security: operatorSecurity,
          requestBody: jsonBody(addOperatorSchema),
          responses: { "201": ok("the operator and its token"), ...errors(400, 401, 403, 409, 413) },
        },
      },
      "/v1/operators/{name}": {
        delete: {
          summary: "Remove an operator; its token is refused from then on (scope admin)",
          security: operatorSecurity,
          parameters: [{ name: "name", in: "path", required: true, schema: { type: "string" } }],
          responses: { "200": ok("removed"), ...errors(400, 401, 403, 404) },
        },
      },
      "/v1/audit": {
        get: {
          summary: "The newest audit rows, newest first: operator actions and grant warnings (scope read)",
          security: operatorSecurity,
          parameters: [
            {
              name: "limit",
              in: "query",
              required: false,
              schema: { type: "integer", minimum: 1, maximum: 1000 },
            },
          ],
          responses: { "200": ok("audit rows"), ...errors(400, 401, 403) },
        },
      },
      "/v1/members": {
        get: {
          summary: "Current members (no keys)",
          security: operatorSecurity,
          responses: { "200": ok("members"), ...errors(401, 403) },
        },
      },
      "/v1/cluster": {
        get: {
          summary:
            "The cluster at a glance: head, centre and radius, chain and index, broker, counts (scope read)",
          security: operatorSecurity,
          responses: { "200": ok("the cluster summary"), ...errors(401, 403, 503) },
        },
      },
      "/v1/events": {
        get: {
          summary:
            "Server-sent events: enrollments, revocations and key rotations on chain, joins, ended memberships, grants, warnings (scope read)",
          security: operatorSecurity,
          responses: {
            "200": ok("an event stream", { "text/event-stream": { schema: { type: "string" } } }),
            ...errors(401, 403, 503),
          },
        },
      },
      "/v1/telemetry/readings": {
        get: {
          summary:
            "The telemetry collector's readings (its GET /v1/readings, docs/telemetry.md § Reading back), proxied with the collector's token for the dashboard (scope read)",
          security: operatorSecurity,
          parameters: Object.entries(
            (json(telemetryReadingsQuerySchema) as { properties: Record<string, unknown> }).properties,
          ).map(([name, schema]) => ({ name, in: "query", required: false, schema })),
          responses: {
            "200": ok("`{ readings, nextCursor }` as the collector answers"),
            ...errors(400, 401, 403, 404, 503),
          },
        },
      },
      "/dashboard": {
        get: {
          summary: "The operator dashboard at /dashboard/ (docs/dashboard.md); /dashboard redirects there",
          responses: {
            "200": ok("the page", { "text/html": { schema: { type: "string" } } }),
            "301": ok("to /dashboard/"),
          },
        },
      },
      "/dashboard/{file}": {
        get: {
          summary: "The dashboard's script and style sheet",
          parameters: [{ name: "file", in: "path", required: true, schema: { type: "string" } }],
          responses: { "200": ok("the file"), "404": ok("no such file") },
        },
      },
      "/health": {
        get: {
          summary:
            "Chain (with reorganisations rewound), index, broker and, when the chain answers, the head's wallet",
          responses: {
            "200": ok("healthy", jsonOf("Health")),
            "503": ok("degraded", jsonOf("Health")),
          },
        },
      },
      "/metrics": {
        get: { summary: "Prometheus metrics", responses: { "200": ok("text exposition format") } },
      },
      "/openapi.json": { get: { summary: "This document", responses: { "200": ok("OpenAPI 3.1") } } },
    },
  };
}
