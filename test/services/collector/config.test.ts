import { describe, expect, it } from "vitest";
import { ConfigError, describeDatabase, loadConfig } from "../../../services/collector/config";

describe("collector configuration", () => {
  it("takes flags over environment over defaults", () => {
    const config = loadConfig(
      { port: "9100" },
      { IOTGUARD_COLLECTOR_PORT: "9101", IOTGUARD_COLLECTOR_BATCH_SIZE: "7" },
    );
    expect([config.port, config.batchSize, config.databaseSchema, config.databaseUrl]).toEqual([
      9100,
      7,
      "iotguard",
      undefined,
    ]);
  });

  it.each([
    [{ port: "abc" }, /--port \/ IOTGUARD_COLLECTOR_PORT/],
    [{ databaseUrl: "mysql://x@y/z" }, /--database-url \/ IOTGUARD_COLLECTOR_DATABASE_URL/],
    [{ databaseSchema: "Robert'); drop table" }, /--database-schema/],
    [{ batchSize: "0" }, /--batch-size/],
    [{ flushMs: "-1" }, /--flush-ms/],
    [{ maxBuffered: "0" }, /--max-buffered/],
    [{ headUrl: "not a url" }, /--head \/ IOTGUARD_COLLECTOR_HEAD/],
    [{ latitude: "90000001" }, /--latitude/],
  ])("refuses %o naming the setting", (flags, message) => {
    expect(() => loadConfig(flags, {})).toThrow(ConfigError);
    expect(() => loadConfig(flags, {})).toThrow(message);
  });

  it("never echoes the database URL, which may hold a password", () => {
    expect(() => loadConfig({ databaseUrl: "postgres://u:secretpw@" }, {})).not.toThrow(/secretpw/);
    const config = loadConfig({ databaseUrl: "postgres://u:secretpw@db.example:6543/telemetry" }, {});
    expect(describeDatabase(config)).toBe("PostgreSQL at db.example:6543/telemetry");
    expect(describeDatabase(loadConfig({ dataDir: "/tmp/c" }, {}))).toBe("embedded PGlite in /tmp/c/pgdata");
  });
});
