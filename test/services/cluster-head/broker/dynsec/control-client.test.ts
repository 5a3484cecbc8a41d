/**
 * The dynsec control client against a real private Mosquitto with the plugin: answers matched to
 * their commands, refusals typed, no answer and no connection typed, and the admin file checked.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readAdminCredential } from "../../../../../services/cluster-head/broker/dynsec/admin-credential";
import { DynsecControlClient } from "../../../../../services/cluster-head/broker/dynsec/control-client";
import { readBrokerState } from "../../../../../services/cluster-head/broker/dynsec/reconciler";
import { startPrivateMosquitto } from "../../../../../testkit/brokers";
import { type DynsecMosquitto, startDynsecMosquitto } from "../../../../../testkit/mosquitto-dynsec";

const clientId = () => `test-admin-${randomBytes(4).toString("hex")}`;

describe("dynsec control client", () => {
  let broker: DynsecMosquitto;
  let control: DynsecControlClient;

  beforeAll(async () => {
    broker = await startDynsecMosquitto();
    control = await DynsecControlClient.connect(broker.url, readAdminCredential(broker.adminFile), {
      clientId: clientId(),
    });
  }, 30_000);
  afterAll(async () => {
    await control?.close();
    await broker?.stop();
  });

  it("answers each command of a message in order, refusals as results", async () => {
    const results = await control.run([
      { command: "createRole", rolename: "r-test" },
      { command: "createRole", rolename: "r-test" },
      { command: "deleteRole", rolename: "r-test" },
    ]);
    expect(results.map((r) => [r.command, r.error])).toEqual([
      ["createRole", undefined],
      ["createRole", "Role already exists"],
      ["deleteRole", undefined],
    ]);
  });

  it("matches concurrent requests to their own answers", async () => {
    const names = Array.from({ length: 20 }, (_, i) => `c-${i}`);
    const created = await Promise.all(
      names.map((username) => control.run([{ command: "createClient", username, password: "x" }])),
    );
    expect(created.flat().every((r) => r.command === "createClient" && r.error === undefined)).toBe(true);
    // listClients with count -1 returns every client, past the plugin's default page.
    const state = await readBrokerState(control);
    expect(state.clients.map((c) => c.username)).toEqual(
      expect.arrayContaining([broker.admin.username, ...names]),
    );
    await control.runOk(names.map((username) => ({ command: "deleteClient", username })));
  });

  it("rejects a refused command with E_BROKER_ADMIN_REFUSED unless it is tolerated", async () => {
    await expect(control.runOk([{ command: "deleteClient", username: "nobody" }])).rejects.toMatchObject({
      code: "E_BROKER_ADMIN_REFUSED",
      command: "deleteClient",
    });
    await expect(
      control.runOk([{ command: "deleteClient", username: "nobody" }], (r) =>
        /not found/.test(r.error ?? ""),
      ),
    ).resolves.toHaveLength(1);
  });

  it("times out with E_BROKER_ADMIN_TIMEOUT when nothing answers (a broker without the plugin)", async () => {
    const plain = await startPrivateMosquitto();
    try {
      const mute = await DynsecControlClient.connect(
        plain.url,
        { username: "u", password: "p" },
        {
          clientId: clientId(),
          timeoutMs: 300,
        },
      );
      await expect(mute.run([{ command: "listClients" }])).rejects.toMatchObject({
        code: "E_BROKER_ADMIN_TIMEOUT",
      });
      await mute.close();
    } finally {
      await plain.stop();
    }
  });

  it("rejects a command in flight when the client closes, without an unhandled rejection that ends the process", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const closing = await DynsecControlClient.connect(broker.url, readAdminCredential(broker.adminFile), {
        clientId: clientId(),
      });
      // close() fails the pending answer while run() is still awaiting its publish.
      const inFlight = closing.run([{ command: "listClients" }]);
      await closing.close();
      await expect(inFlight).rejects.toMatchObject({ code: "E_BROKER_ADMIN_UNAVAILABLE" });
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  it("refuses at once with E_BROKER_ADMIN_UNAVAILABLE while the broker is down, and works again after", async () => {
    await broker.kill();
    await expect.poll(() => control.connected).toBe(false);
    await expect(control.run([{ command: "listClients" }])).rejects.toMatchObject({
      code: "E_BROKER_ADMIN_UNAVAILABLE",
    });
    const back = new Promise<void>((resolve) => control.once("reconnected", resolve));
    await broker.start();
    await back;
    expect((await control.runOk([{ command: "getDefaultACLAccess" }]))[0]!.data).toBeDefined();
  }, 20_000);

  it("refuses an admin file readable by others, or not username:password", () => {
    const file = join(broker.dir, "admin-copy");
    writeFileSync(file, "admin:secret\n", { mode: 0o644 });
    chmodSync(file, 0o644);
    expect(() => readAdminCredential(file)).toThrow(/chmod 600/);
    chmodSync(file, 0o600);
    expect(readAdminCredential(file)).toEqual({ username: "admin", password: "secret" });
    writeFileSync(file, "no-colon\n");
    expect(() => readAdminCredential(file)).toThrow(/username:password/);
    expect(() => readAdminCredential(join(broker.dir, "missing"))).toThrow(/cannot be read/);
    writeFileSync(file, "admin:hunter2-secret\nmore");
    let message = "";
    try {
      readAdminCredential(file);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/username:password/);
    expect(message).not.toContain("hunter2");
  });
});
