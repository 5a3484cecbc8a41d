import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { collectorClientFor, readCollectorToken } from "../../../services/cluster-head/collector-client";

describe("collector token file", () => {
  const dir = mkdtempSync(join(tmpdir(), "iotguard-collector-token-"));
  const token = "t".repeat(43);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads a 0600 token file", () => {
    const file = join(dir, "ok");
    writeFileSync(file, `${token}\n`, { mode: 0o600 });
    expect(readCollectorToken(file)).toBe(token);
  });

  it("refuses a token file others may read, naming the file but never the token", () => {
    const file = join(dir, "open");
    writeFileSync(file, `${token}\n`, { mode: 0o600 });
    chmodSync(file, 0o644);
    let error: unknown;
    try {
      readCollectorToken(file);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: "E_SECRET_FILE" });
    expect((error as Error).message).toContain("chmod 600");
    expect((error as Error).message).not.toContain(token);
  });

  it("refuses a missing or short token file, and a collector URL without a token file", () => {
    const short = join(dir, "short");
    writeFileSync(short, "abc\n", { mode: 0o600 });
    expect(() => readCollectorToken(short)).toThrow(expect.objectContaining({ code: "E_SECRET_FILE" }));
    expect(() => readCollectorToken(join(dir, "missing"))).toThrow(
      expect.objectContaining({ code: "E_SECRET_FILE" }),
    );
    expect(() => collectorClientFor({ collectorUrl: "http://127.0.0.1:1" })).toThrow(
      expect.objectContaining({ code: "E_SECRET_FILE" }),
    );
    expect(collectorClientFor({})).toBeUndefined();
  });
});
