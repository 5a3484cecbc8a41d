/** The private Mosquitto the tests and the bench share: its limits, its pid, and nothing left after stop. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { canConnect, startPrivateMosquitto } from "../../testkit/brokers";
import { type PrivateTmpdir, usePrivateTmpdir } from "./fixture";

describe("startPrivateMosquitto", () => {
  let tmp: PrivateTmpdir | undefined;
  afterEach(() => {
    tmp?.restore();
    tmp = undefined;
  });

  it("takes raised limits into its config, names its pid, and leaves no process or file after stop", async () => {
    tmp = usePrivateTmpdir();
    const mosquitto = await startPrivateMosquitto({ maxQueuedMessages: 1_000_000, maxPacketSize: 1_048_576 });
    const config = readFileSync(join(mosquitto.dir, "mosquitto.conf"), "utf8");
    expect(config).toMatch(/^max_queued_messages 1000000$/m);
    expect(config).toMatch(/^max_packet_size 1048576$/m);
    expect(config).toMatch(/^persistence false$/m);
    expect(readFileSync(`/proc/${mosquitto.pid}/cmdline`, "utf8")).toContain(mosquitto.dir);
    expect(await canConnect("127.0.0.1", mosquitto.port)).toBe(true);
    await mosquitto.stop();
    expect(tmp.processes()).toEqual([]);
    expect(tmp.entries()).toEqual([]);
    expect(await canConnect("127.0.0.1", mosquitto.port, 200)).toBe(false);
  });
});
