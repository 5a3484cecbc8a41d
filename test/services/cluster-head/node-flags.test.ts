/**
 * The head's V8 flags and environment are given wherever the head is started: the npm script, the
 * bin's shebang and the testkit's head processes (which import the constants themselves).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { HEAD_ENVIRONMENT_WORDS, HEAD_NODE_FLAGS } from "../../../services/cluster-head/node-flags";
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

  it("are on the shebang of the bin, through env -S", () => {
    const firstLine = readFileSync(join(REPO_ROOT, "services/cluster-head/main.ts"), "utf8").split("\n")[0];
    expect(firstLine).toBe(
      `#!/usr/bin/env -S ${HEAD_ENVIRONMENT_WORDS.join(" ")} node ${HEAD_NODE_FLAGS.join(" ")}`,
    );
  });
});
