/**
 * Fixtures for the testkit's own tests: one chain per file, and a private temp root for tests of
 * the testkit's clean-up. `os.tmpdir()` reads TMPDIR at each
 * call (and child processes inherit it), so while it points at a fresh directory every temp file
 * a fixture writes lands there, apart from other engineers' runs in the shared /tmp.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll } from "vitest";
import { startTestChain, type TestChain } from "../../testkit/chain";

export interface PrivateTmpdir {
  readonly root: string;
  /** What is left in the private root (names only). */
  entries(): string[];
  /** Pids of live processes whose command line names a path in the private root. */
  processes(): number[];
  /** Restores TMPDIR and deletes the private root. */
  restore(): void;
}

export function usePrivateTmpdir(): PrivateTmpdir {
  const previous = process.env.TMPDIR;
  const root = mkdtempSync(join(tmpdir(), "iotguard-testkit-tmp-"));
  process.env.TMPDIR = root;
  return {
    root,
    entries: () => readdirSync(root),
    processes() {
      const pids: number[] = [];
      for (const name of readdirSync("/proc")) {
        if (!/^\d+$/.test(name)) continue;
        try {
          if (readFileSync(`/proc/${name}/cmdline`, "utf8").includes(root)) pids.push(Number(name));
        } catch {
          // the process ended while we read
        }
      }
      return pids;
    },
    restore() {
      if (previous === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = previous;
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/**
 * Registers this file's hooks: a chain started before all tests and stopped after them, and a
 * private temp root restored after each test that took one.
 */
export function testkitHooks(): { chain(): TestChain; privateTmpdir(): PrivateTmpdir } {
  let chain: TestChain | undefined;
  let tmp: PrivateTmpdir | undefined;
  beforeAll(async () => {
    chain = await startTestChain();
  }, 60_000);
  afterEach(() => {
    tmp?.restore();
    tmp = undefined;
  });
  afterAll(async () => {
    await chain?.stop();
  });
  return {
    chain: () => chain as TestChain,
    privateTmpdir: () => (tmp = usePrivateTmpdir()),
  };
}
