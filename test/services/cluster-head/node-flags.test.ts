/**
 * The head's V8 flags and environment are given wherever the head is started: the npm script, the
 * bin's shebang and the testkit's head processes (which import the constants themselves).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  HEAD_ENVIRONMENT_WORDS,
  HEAD_NODE_FLAGS,
  missingHeadEnvironment,
  runsOnGlibc,
} from "../../../services/cluster-head/node-flags";
import { REPO_ROOT } from "../../../testkit/build";

describe("the head's node flags and environment", () => {
  it("are on the npm cluster-head script, the environment before node", () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts["cluster-head"]).toBe(
      `${HEAD_ENVIRONMENT_WORDS.join(" ")} node ${HEAD_NODE_FLAGS.join(" ")} dist/services/cluster-head/main.js`,
    );
  });

  it("are on the shebang of the bin, through env -S, within the 127 bytes older kernels read", () => {
    const firstLine = readFileSync(join(REPO_ROOT, "services/cluster-head/main.ts"), "utf8").split("\n")[0];
    expect(firstLine).toBe(
      `#!/usr/bin/env -S ${HEAD_ENVIRONMENT_WORDS.join(" ")} node ${HEAD_NODE_FLAGS.join(" ")}`,
    );
    // Linux before 5.1 (RHEL 8's 4.18, say) reads only the first 127 bytes of a shebang line.
    expect(Buffer.byteLength(firstLine!)).toBeLessThanOrEqual(127);
  });

  it("are found missing on glibc only, so the head can warn when started without them", () => {
    expect(missingHeadEnvironment({}, true)).toEqual(["MALLOC_MMAP_THRESHOLD_"]);
    expect(missingHeadEnvironment({ MALLOC_MMAP_THRESHOLD_: "131072" }, true)).toEqual([]);
    expect(missingHeadEnvironment({}, false)).toEqual([]);
  });

  it("tells glibc from other C libraries by the process report (Debian's Node runs on glibc)", () => {
    expect(runsOnGlibc()).toBe(true);
  });
});
