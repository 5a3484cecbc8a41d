/**
 * A/B of the two ways platform/level-database.ts can write a group: abstract-level's public
 * `batch` (per-operation clones on V8's slow spread path) and classic-level's native chained batch
 * with keys and values encoded beforehand. Alternating rounds in one process; prints CPU µs per
 * operation (LevelDB's own work included). Run: `npx tsx bench/lib/level-write-ab.ts`.
 * @module
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LevelDatabase, openJsonLevel } from "../../platform/level-database";

const GROUP = 100;
const GROUPS = 300;
const ROUNDS = 3;

/** A session-like record, as the head's grant path writes. */
function record(): unknown {
  return {
    sessionId: randomBytes(16).toString("hex"),
    initiator: `0x${randomBytes(20).toString("hex")}`,
    responder: `0x${randomBytes(20).toString("hex")}`,
    suite: 1,
    issuedAt: Date.now(),
    expiresAt: Date.now() + 3_600_000,
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "iotguard-level-ab-"));
  const db = new LevelDatabase(await openJsonLevel(dir), ["sessions"] as const);
  const sub = db.sub.sessions;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const variant of ["public batch", "native batch"] as const) {
        const groups = Array.from({ length: GROUPS }, () =>
          Array.from({ length: GROUP }, () => ({ key: randomBytes(16).toString("hex"), value: record() })),
        );
        const before = process.cpuUsage();
        for (const ops of groups) {
          if (variant === "public batch")
            await db.db.batch(
              ops.map((op) => ({ type: "put" as const, sublevel: sub, key: op.key, value: op.value })),
              { sync: false },
            );
          else await db.batch(ops.map((op) => ({ type: "put" as const, sublevel: "sessions", ...op })));
        }
        const used = process.cpuUsage(before);
        const perOp = (used.user + used.system) / (GROUPS * GROUP);
        console.log(`round ${round} ${variant}: ${perOp.toFixed(1)} µs CPU per operation`);
      }
    }
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
