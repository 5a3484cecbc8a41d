/**
 * What the head keeps at rest: member keys live apart from the level database and are destroyed
 * when a membership ends (superseded, revoked, expired), and what is no longer live is pruned.
 * Real head, chain and level; the head's clock is moved forward where expiry matters.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join as joinPath } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toHex } from "../../../protocol/bytes";
import type { Membership } from "../../../protocol/membership";
import { AUDIT_RETENTION_MS, runHousekeeping } from "../../../services/cluster-head/use-cases/housekeeping";
import { startTestChain, type TestChain } from "../../../testkit/chain";
import { startTestHead, type TestHead } from "../../../testkit/head";
import { enrolled, joined, requestSession } from "../../helpers/member-client";

const CLUSTER = 3;

/** Every file under `directory`, with its bytes. */
function filesUnder(directory: string): { path: string; bytes: Buffer }[] {
  return readdirSync(directory, { recursive: true, encoding: "utf8" })
    .map((name) => joinPath(directory, name))
    .filter((path) => statSync(path).isFile())
    .map((path) => ({ path, bytes: readFileSync(path) }));
}

/** Files under `directory` that hold `key`, as raw bytes or as hex. */
function filesHolding(directory: string, key: Uint8Array): string[] {
  const raw = Buffer.from(key);
  const hex = Buffer.from(toHex(key));
  return filesUnder(directory)
    .filter(({ bytes }) => bytes.includes(raw) || bytes.includes(hex))
    .map(({ path }) => path);
}

describe("member keys at rest", () => {
  let chain: TestChain;
  let head: TestHead;
  let clock = Date.now();

  beforeAll(async () => {
    chain = await startTestChain();
    head = await startTestHead(
      chain,
      { clusterId: String(CLUSTER), membershipTtlS: "600" },
      undefined,
      () => clock,
    );
  }, 60_000);
  afterAll(async () => {
    await head?.destroy();
    await chain?.stop();
  });

  it("keeps no member key in the level database, and none of a superseded or revoked membership anywhere", async () => {
    const [a, b] = [await enrolled(head), await enrolled(head)];
    const superseded = await joined(head, a);
    const current = await joined(head, a);
    const revoked = await joined(head, b);
    expect((await requestSession(head, current, revoked)).response.status).toBe(200);
    expect((await head.operator("POST", `/v1/devices/${b.deviceIdHex}/revoke`)).status).toBe(200);
    const flags = head.flags;
    await head.stop(); // level flushes and closes: everything it wrote is in the files now

    const database = joinPath(head.dataDir, "db");
    expect(filesHolding(database, current.memberKey)).toEqual([]);
    expect(filesHolding(head.dataDir, superseded.memberKey)).toEqual([]);
    expect(filesHolding(head.dataDir, revoked.memberKey)).toEqual([]);
    // The current key is where the head needs it, in a 0600 file of a 0700 folder.
    const holding = filesHolding(head.dataDir, current.memberKey);
    expect(holding).toHaveLength(1);
    expect(statSync(holding[0]!).mode & 0o777).toBe(0o600);
    expect(statSync(joinPath(head.dataDir, "member-keys")).mode & 0o777).toBe(0o700);

    head = await startTestHead(chain, flags, undefined, () => clock);
    // ...and the restarted head still serves the current membership with it.
    const c = await enrolled(head);
    expect((await requestSession(head, current, await joined(head, c))).response.status).toBe(200);
  });

  it("purges expired memberships with their keys, and prunes ended sessions, stale replay keys and old audit rows", async () => {
    const [a, b] = [await enrolled(head), await enrolled(head)];
    const ma: Membership = await joined(head, a);
    const mb: Membership = await joined(head, b);
    expect((await requestSession(head, ma, mb)).response.status).toBe(200);
    const intruder = { ...ma, kid: new Uint8Array([1, 2, 3, 4]) };
    expect((await requestSession(head, intruder, mb)).response.headers.get("x-iotguard-outcome")).toBe(
      "warning",
    );
    expect(await head.context.audit.list()).not.toEqual([]);

    clock += 601_000; // past both memberships and the session
    const first = await runHousekeeping(head.context);
    expect(first.members).toBeGreaterThanOrEqual(2);
    expect(head.context.members.size).toBe(0);
    expect(filesHolding(head.dataDir, ma.memberKey)).toEqual([]);
    expect(filesHolding(head.dataDir, mb.memberKey)).toEqual([]);
    expect(first.replayKeys).toBeGreaterThanOrEqual(1);
    expect(head.context.sessions.replayKeyCount).toBe(0);

    clock += 3600_000; // past the retention of ended sessions
    await runHousekeeping(head.context);
    expect(head.context.sessions.list()).toEqual([]);

    clock += AUDIT_RETENTION_MS;
    const last = await runHousekeeping(head.context);
    expect(last.auditRows).toBeGreaterThanOrEqual(1);
    expect(await head.context.audit.list()).toEqual([]);
  });
});
