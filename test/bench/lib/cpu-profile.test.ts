/**
 * The profile summary counts a sample's time once as self time of the function it landed in and
 * once as inclusive time of each of the head's own functions above it, inside the windows only.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { summariseProfile } from "../../../bench/lib/cpu-profile";

const dir = mkdtempSync(join(tmpdir(), "iotguard-cpu-profile-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0 });

/** (root) → serve (head http) → grantSession (head other) → recurse → recurse → Hmac (node:crypto); plus (idle). */
function profileFile(): string {
  const file = join(dir, "p.cpuprofile");
  const profile = {
    nodes: [
      { id: 1, callFrame: frame("(root)", ""), children: [2, 7] },
      {
        id: 2,
        callFrame: frame("serve", "file:///x/dist/services/cluster-head/http/protocol-endpoint.js"),
        children: [3],
      },
      {
        id: 3,
        callFrame: frame("grantSession", "file:///x/dist/services/cluster-head/use-cases/grant-session.js"),
        children: [4],
      },
      { id: 4, callFrame: frame("walk", "file:///x/dist/protocol/bytes.js"), children: [5] },
      { id: 5, callFrame: frame("walk", "file:///x/dist/protocol/bytes.js"), children: [6] },
      { id: 6, callFrame: frame("Hmac", "node:internal/crypto/hash") },
      { id: 7, callFrame: frame("(idle)", "") },
    ],
    startTime: 0,
    endTime: 100,
    // Samples at t = 10, 20, 30, 40, 50, 60; each stands for the 10 µs until the next.
    samples: [6, 6, 3, 7, 5, 6],
    timeDeltas: [10, 10, 10, 10, 10, 10],
  };
  writeFileSync(file, JSON.stringify(profile));
  return file;
}

describe("summariseProfile", () => {
  it("sums self time per group and per function over the busy samples inside the windows", () => {
    const summary = summariseProfile(profileFile(), [[15, 45]]);
    // t = 20 (Hmac), 30 (grantSession), 40 (idle): the sample at t = 60 has no next delta.
    expect(summary.busyMs).toBeCloseTo(0.02);
    expect(summary.categories).toEqual([
      { name: "node:crypto", ms: 0.01, share: 0.5 },
      { name: "head (other)", ms: 0.01, share: 0.5 },
    ]);
  });

  it("counts a sample once per own function on its stack, recursion included once, as inclusive time", () => {
    const summary = summariseProfile(profileFile());
    const inclusive = Object.fromEntries(summary.inclusive.map((f) => [f.name, f.ms * 1000]));
    // Busy samples with a next delta: Hmac ×2, grantSession, walk(5); the last Hmac has none.
    expect(inclusive).toEqual({ serve: 40, grantSession: 40, walk: 30 });
    expect(summary.inclusive.find((f) => f.name === "serve")?.share).toBeCloseTo(1);
  });
});
