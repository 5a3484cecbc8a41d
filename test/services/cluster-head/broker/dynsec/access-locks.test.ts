/** The locks that keep broker changes of the same devices, and reconciliation, from interleaving. */
import { describe, expect, it } from "vitest";
import { AccessLocks } from "../../../../../services/cluster-head/broker/dynsec/access-locks";

/** A step that finishes when the test says so, recording when it started and ended. */
function gate(log: string[], name: string) {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return {
    open,
    run: async () => {
      log.push(`${name} start`);
      await opened;
      log.push(`${name} end`);
    },
  };
}

describe("access locks", () => {
  it("runs changes of the same device one after the other, in call order", async () => {
    const locks = new AccessLocks();
    const log: string[] = [];
    const [first, second] = [gate(log, "first"), gate(log, "second")];
    const a = locks.run(["A", "B"], first.run);
    const b = locks.run(["B"], second.run);
    await new Promise((r) => setTimeout(r, 10));
    expect(log).toEqual(["first start"]);
    first.open();
    second.open();
    await Promise.all([a, b]);
    expect(log).toEqual(["first start", "first end", "second start", "second end"]);
  });

  it("runs changes of different devices at once", async () => {
    const locks = new AccessLocks();
    const log: string[] = [];
    const [first, second] = [gate(log, "first"), gate(log, "second")];
    const a = locks.run(["A"], first.run);
    const b = locks.run(["B"], second.run);
    await new Promise((r) => setTimeout(r, 10));
    expect(log).toEqual(["first start", "second start"]);
    first.open();
    second.open();
    await Promise.all([a, b]);
  });

  it("runs a reconciliation alone: after what started before it, before what starts after", async () => {
    const locks = new AccessLocks();
    const log: string[] = [];
    const [before, reconcile, after] = [gate(log, "before"), gate(log, "reconcile"), gate(log, "after")];
    const p1 = locks.run(["A"], before.run);
    const p2 = locks.exclusive(reconcile.run);
    const p3 = locks.run(["B"], after.run);
    await new Promise((r) => setTimeout(r, 10));
    expect(log).toEqual(["before start"]);
    before.open();
    await new Promise((r) => setTimeout(r, 10));
    expect(log).toEqual(["before start", "before end", "reconcile start"]);
    reconcile.open();
    after.open();
    await Promise.all([p1, p2, p3]);
    expect(log.slice(3)).toEqual(["reconcile end", "after start", "after end"]);
  });

  it("releases the lock when a change throws", async () => {
    const locks = new AccessLocks();
    await expect(locks.run(["A"], async () => Promise.reject(new Error("broker down")))).rejects.toThrow();
    await expect(locks.run(["A"], async () => "next")).resolves.toBe("next");
  });
});
