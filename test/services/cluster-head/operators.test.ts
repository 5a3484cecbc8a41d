/**
 * Named operators with scopes against a real head and chain: created and removed over REST by an
 * admin, stored only as scrypt hashes, refused with E_FORBIDDEN outside their scopes, and named
 * in the audit log for every enrollment, revocation and rotation. The generated token stays the
 * bootstrap operator `admin`.
 */
import { scryptSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toHex } from "../../../protocol/bytes";
import { signEnrollmentProof } from "../../../protocol/enrollment";
import { generateIdentity } from "../../../protocol/identity";
import type { OperatorRecord } from "../../../services/cluster-head/stores/operator-store";
import { startTestChain, type TestChain } from "../../../testkit/chain";
import { makeTestDevice, startTestHead, type TestDevice, type TestHead } from "../../../testkit/head";
import { errorCode } from "../../helpers/member-client";

/** A request to the head with `token` as the bearer. */
function as(head: TestHead, token: string, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${head.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

function rotateBody(device: TestDevice, keyVersion: number) {
  const next = generateIdentity();
  const proof = signEnrollmentProof(next.secretKey, {
    clusterId: 1,
    deviceId: device.deviceId,
    keyAddress: next.address,
    keyVersion,
  });
  return { keyAddress: `0x${toHex(next.address)}`, proof: `0x${toHex(proof)}` };
}

describe("named operators", () => {
  let chain: TestChain;
  let head: TestHead;
  const tokens: Record<string, string> = {};
  /** Heads stopped for a restart: their temp directories are deleted at the end. */
  const stopped: TestHead[] = [];

  async function addOperator(name: string, scopes: string[]): Promise<string> {
    const response = await head.operator("POST", "/v1/operators", { name, scopes });
    expect(response.status, await response.clone().text()).toBe(201);
    const { token, operator } = (await response.json()) as { token: string; operator: { name: string } };
    expect(operator.name).toBe(name);
    tokens[name] = token;
    return token;
  }

  beforeAll(async () => {
    chain = await startTestChain();
    head = await startTestHead(chain);
    await addOperator("enroller", ["enroll"]);
    await addOperator("revoker", ["revoke"]);
    await addOperator("auditor", ["read"]);
  }, 60_000);
  afterAll(async () => {
    await head?.destroy();
    for (const old of stopped) await old.destroy();
    await chain?.stop();
  });

  it("lists the bootstrap admin with every scope and the added operators, never a token or hash", async () => {
    const response = await head.operator("GET", "/v1/operators");
    const text = await response.text();
    const { operators } = JSON.parse(text) as {
      operators: { name: string; scopes: string[]; bootstrap: boolean }[];
    };
    expect(operators.map((o) => [o.name, o.scopes.join(","), o.bootstrap])).toEqual([
      ["admin", "enroll,revoke,read,admin", true],
      ["auditor", "read", false],
      ["enroller", "enroll", false],
      ["revoker", "revoke", false],
    ]);
    for (const token of Object.values(tokens)) expect(text).not.toContain(token.split(".")[2]);
    expect(text).not.toMatch(/hash|salt/);
  });

  it("stores a salted scrypt hash of each token, not the token", async () => {
    const stored = await head.context.database.values<OperatorRecord>("operators");
    expect(stored.map((r) => r.name).sort()).toEqual(["auditor", "enroller", "revoker"]);
    for (const record of stored) {
      const [, id, secret] = tokens[record.name]!.split(".");
      expect(record.id).toBe(id);
      expect(JSON.stringify(record)).not.toContain(secret);
      const { N, r, p } = record.params;
      expect(N).toBeGreaterThanOrEqual(2 ** 14);
      const hash = scryptSync(secret!, Buffer.from(record.salt, "hex"), 32, { N, r, p, maxmem: 256 * N * r });
      expect(hash.toString("hex")).toBe(record.hash);
    }
  });

  it("admits each operator to the routes of its scopes and refuses the others with E_FORBIDDEN", async () => {
    const device = makeTestDevice();
    const checks: [string, string, string, unknown, number, string?][] = [
      ["auditor", "POST", "/v1/devices", device.enrollBody(1), 403, "E_FORBIDDEN"],
      ["revoker", "POST", "/v1/devices", device.enrollBody(1), 403, "E_FORBIDDEN"],
      ["enroller", "GET", "/v1/members", undefined, 403, "E_FORBIDDEN"],
      ["enroller", "GET", "/v1/operators", undefined, 403, "E_FORBIDDEN"],
      ["auditor", "POST", "/v1/operators", { name: "mallory", scopes: ["admin"] }, 403, "E_FORBIDDEN"],
      ["auditor", "GET", "/v1/members", undefined, 200],
      ["auditor", "GET", "/v1/sessions", undefined, 200],
      ["enroller", "POST", "/v1/devices", device.enrollBody(1), 201],
      ["enroller", "POST", `/v1/devices/${device.deviceIdHex}/revoke`, undefined, 403, "E_FORBIDDEN"],
      [
        "revoker",
        "POST",
        `/v1/devices/${device.deviceIdHex}/rotate`,
        rotateBody(device, 1),
        403,
        "E_FORBIDDEN",
      ],
    ];
    for (const [name, method, path, body, status, code] of checks) {
      const response = await as(head, tokens[name]!, method, path, body);
      expect(response.status, `${name} ${method} ${path}`).toBe(status);
      if (code) expect(await errorCode(response)).toBe(code);
    }
    expect(await head.context.index.getDevice(device.deviceIdHex)).toMatchObject({ status: "active" });
  });

  it("names the operator in the audit log for every enrollment, revocation and rotation", async () => {
    const device = makeTestDevice();
    expect((await as(head, tokens.enroller!, "POST", "/v1/devices", device.enrollBody(1))).status).toBe(201);
    expect(
      (
        await as(
          head,
          tokens.enroller!,
          "POST",
          `/v1/devices/${device.deviceIdHex}/rotate`,
          rotateBody(device, 1),
        )
      ).status,
    ).toBe(200);
    expect((await as(head, tokens.revoker!, "POST", `/v1/devices/${device.deviceIdHex}/revoke`)).status).toBe(
      200,
    );
    const response = await as(head, tokens.auditor!, "GET", "/v1/audit?limit=1000");
    expect(response.status).toBe(200);
    const { entries } = (await response.json()) as { entries: Record<string, unknown>[] };
    const about = entries
      .filter(
        (e) =>
          e.deviceId === device.deviceIdHex ||
          (e.deviceIds as string[] | undefined)?.includes(device.deviceIdHex),
      )
      .reverse()
      .map((e) => [e.event, e.operator]);
    expect(about).toEqual([
      ["enroll-requested", "enroller"],
      ["enrolled", "enroller"],
      ["rotate-requested", "enroller"],
      ["rotated", "enroller"],
      ["revoke-requested", "revoker"],
      ["revoked", "revoker"],
    ]);
    const added = entries.filter((e) => e.event === "operator-added").map((e) => [e.name, e.operator]);
    expect(added).toEqual(
      expect.arrayContaining([
        ["enroller", "admin"],
        ["revoker", "admin"],
        ["auditor", "admin"],
      ]),
    );
  });

  it("refuses a duplicate name, a reserved or bad name, unknown scopes, and removing the bootstrap admin", async () => {
    const refusals: [string, string, unknown, number, string][] = [
      ["POST", "/v1/operators", { name: "enroller", scopes: ["read"] }, 409, "E_OPERATOR_EXISTS"],
      ["POST", "/v1/operators", { name: "admin", scopes: ["read"] }, 400, "E_VALIDATION"],
      ["POST", "/v1/operators", { name: "Bad Name", scopes: ["read"] }, 400, "E_VALIDATION"],
      ["POST", "/v1/operators", { name: "x", scopes: ["root"] }, 400, "E_VALIDATION"],
      ["POST", "/v1/operators", { name: "x", scopes: [] }, 400, "E_VALIDATION"],
      ["DELETE", "/v1/operators/admin", undefined, 400, "E_VALIDATION"],
      ["DELETE", "/v1/operators/nobody", undefined, 404, "E_NOT_FOUND"],
    ];
    for (const [method, path, body, status, code] of refusals) {
      const response = await head.operator(method, path, body);
      expect(
        [response.status, await errorCode(response)],
        `${method} ${path} ${JSON.stringify(body)}`,
      ).toEqual([status, code]);
    }
  });

  it("refuses a token whose secret part is wrong, as unknown (E_UNAUTHORIZED)", async () => {
    const [prefix, id] = tokens.auditor!.split(".");
    const forged = `${prefix}.${id}.${"A".repeat(43)}`;
    const response = await as(head, forged, "GET", "/v1/members");
    expect([response.status, await errorCode(response)]).toEqual([401, "E_UNAUTHORIZED"]);
  });

  it("refuses a removed operator's token from the next request on, and keeps the others after a restart", async () => {
    const token = await addOperator("temp", ["read"]);
    expect((await as(head, token, "GET", "/v1/members")).status).toBe(200); // verified and cached
    const removed = await head.operator("DELETE", "/v1/operators/temp");
    expect(removed.status).toBe(200);
    const refused = await as(head, token, "GET", "/v1/members");
    expect([refused.status, await errorCode(refused)]).toEqual([401, "E_UNAUTHORIZED"]);

    await head.stop();
    stopped.push(head);
    head = await startTestHead(chain, { dataDir: head.dataDir, adminToken: head.adminToken });
    expect((await as(head, tokens.auditor!, "GET", "/v1/members")).status).toBe(200);
    expect((await as(head, token, "GET", "/v1/members")).status).toBe(401);
  });
});
