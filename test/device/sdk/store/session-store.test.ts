/**
 * The device's session store on a real level database: the replay floor is written durably and
 * removed together with its session.
 *
 * A real power cut cannot be produced in a test (the OS cache survives a killed process); what is
 * tested is that the write asks classic-level for `sync: true`, which is LevelDB's fsync of the log.
 */
import { afterEach, describe, expect, it } from "vitest";
import { toHex } from "../../../../protocol/bytes";
import { DeviceDatabase } from "../../../../device/sdk/store/database";
import { SecretBox } from "../../../../device/sdk/store/secret-box";
import { SessionStore } from "../../../../device/sdk/store/session-store";
import { removeDir, tempDeviceDir } from "../../../../testkit/device";
import { fullSession } from "../../../protocol/grant-fixture";

describe("SessionStore", () => {
  let dir: string;
  let db: DeviceDatabase;
  let box: SecretBox;
  afterEach(async () => {
    box?.close();
    await db?.close();
    removeDir(dir);
  });

  async function setup(): Promise<SessionStore> {
    dir = tempDeviceDir();
    db = await DeviceDatabase.open(dir);
    box = await SecretBox.open(dir, SecretBox.newKdf(undefined), undefined);
    return new SessionStore(db, box);
  }

  it("asks level to fsync the receive floor (sync: true), so a power cut cannot re-admit a delivered frame", async () => {
    const store = await setup();
    const writes: { key: unknown; sync?: boolean }[] = [];
    db.db.on("write", (ops: { key: unknown; sync?: boolean }[]) => writes.push(...ops));
    await store.setReceiveFloor("0011223344556677", 41n);
    expect(writes).toHaveLength(1);
    expect(writes[0]!.sync).toBe(true);
    expect(await store.receiveFloor("0011223344556677")).toBe(41n);
  });

  it("keeps the floor across a restart of the database", async () => {
    const store = await setup();
    await store.setReceiveFloor("0011223344556677", 7n);
    await db.close();
    db = await DeviceDatabase.open(dir);
    expect(await new SessionStore(db, box).receiveFloor("0011223344556677")).toBe(7n);
  });

  it("removes a session and its floor in one batch", async () => {
    const store = await setup();
    const { s2 } = fullSession({ seed: "session-store" });
    const id = toHex(s2.sessionId);
    await store.put(s2);
    await store.setReceiveFloor(id, 3n);
    const writes: { type: string }[][] = [];
    db.db.on("write", (ops: { type: string }[]) => writes.push(ops));
    await store.remove(id);
    expect(writes.map((ops) => ops.map((o) => o.type))).toEqual([["del", "del"]]);
    expect(await store.summaries()).toEqual([]);
    expect(await store.receiveFloor(id)).toBe(-1n);
  });
});
