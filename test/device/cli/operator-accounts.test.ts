/**
 * `iotguard operator add / list / remove` as real CLI processes against a real head: the new
 * operator's token goes to a 0600 file and nowhere else, works within its scopes, and stops
 * working once removed; a refusal outside its scopes carries the head's E_FORBIDDEN (exit 1).
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestChain, type TestChain } from "../../../testkit/chain";
import { runCli } from "../../../testkit/cli";
import { makeTestDevice, startTestHead, type TestHead } from "../../../testkit/head";

describe("operator accounts through the CLI", () => {
  const dir = mkdtempSync(join(tmpdir(), "iotguard-cli-operators-"));
  let chain: TestChain;
  let head: TestHead;
  const adminFile = join(dir, "admin-token");
  const enrollerFile = join(dir, "enroller-token");
  const requestFile = join(dir, "request.json");

  beforeAll(async () => {
    chain = await startTestChain();
    head = await startTestHead(chain);
    writeFileSync(adminFile, `${head.adminToken}\n`, { mode: 0o600 });
    writeFileSync(requestFile, JSON.stringify(makeTestDevice().enrollBody(1)));
  }, 60_000);
  afterAll(async () => {
    await head?.destroy();
    await chain?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const operator = (...args: string[]) => runCli(["operator", ...args, "--head", head.url]);

  it("adds an operator, writing its token to a new 0600 file and printing no token", async () => {
    const added = await operator(
      "add",
      "enroller",
      "--scopes",
      "enroll",
      "--token-out",
      enrollerFile,
      "--token-file",
      adminFile,
      "--json",
    );
    expect(added.code, added.stderr).toBe(0);
    const token = readFileSync(enrollerFile, "utf8").trim();
    expect(token).toMatch(/^iog1\.[0-9a-f]{16}\.[A-Za-z0-9_-]{43}$/);
    expect(statSync(enrollerFile).mode & 0o777).toBe(0o600);
    expect(`${added.stdout}${added.stderr}`).not.toContain(token.split(".")[2]);
    expect(JSON.parse(added.stdout)).toMatchObject({
      event: "operator-added",
      name: "enroller",
      scopes: ["enroll"],
    });
  });

  it("refuses to overwrite an existing token file, and adds nothing then", async () => {
    const refused = await operator(
      "add",
      "second",
      "--scopes",
      "read",
      "--token-out",
      enrollerFile,
      "--token-file",
      adminFile,
    );
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--token-out .*EEXIST/);
    expect(head.context.operators.list().map((o) => o.name)).not.toContain("second");
  });

  it("lists the operators", async () => {
    const listed = await operator("list", "--token-file", adminFile, "--json");
    expect(listed.code, listed.stderr).toBe(0);
    const names = listed.stdout
      .trim()
      .split("\n")
      .map((line) => (JSON.parse(line) as { name: string }).name);
    expect(names).toEqual(["admin", "enroller"]);
  });

  it("lets the new operator enroll, and refuses it revoking or managing operators with E_FORBIDDEN (exit 1)", async () => {
    const enrolled = await operator("enroll", "--request", requestFile, "--token-file", enrollerFile);
    expect(enrolled.code, enrolled.stderr).toBe(0);
    const { deviceId } = JSON.parse(readFileSync(requestFile, "utf8")) as { deviceId: string };
    const revoke = await operator("revoke", deviceId, "--token-file", enrollerFile);
    expect(revoke.code).toBe(1);
    expect(revoke.stderr).toMatch(/E_FORBIDDEN/);
    const list = await operator("list", "--token-file", enrollerFile);
    expect([list.code, /E_FORBIDDEN/.test(list.stderr)]).toEqual([1, true]);
  });

  it("removes the operator; its token is refused afterwards (E_UNAUTHORIZED)", async () => {
    const removed = await operator("remove", "enroller", "--token-file", adminFile);
    expect(removed.code, removed.stderr).toBe(0);
    const after = await operator("list", "--token-file", enrollerFile);
    expect(after.code).toBe(1);
    expect(after.stderr).toMatch(/E_UNAUTHORIZED/);
  });
});
