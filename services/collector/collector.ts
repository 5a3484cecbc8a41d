/**
 * Starts a collector (docs/telemetry.md): the database (migrated), the member device (joined and
 * connected), the ingest pipeline and the HTTP API. `stop()` writes what is buffered, closes the
 * device (its session keys are wiped) and the database.
 * @module
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import pino, { type Logger } from "pino";
import { type Device, isDeviceError } from "../../device/sdk";
import { encodeAck } from "../../telemetry";
import { loadOrCreateApiToken } from "./api-token";
import { type CollectorConfig, describeDatabase } from "./config";
import { CollectorStartError } from "./errors";
import { createApp } from "./http/app";
import { openCollectorDevice } from "./identity";
import { BatchWriter } from "./ingest/batch-writer";
import { TelemetryIngest } from "./ingest/telemetry-ingest";
import { type CollectorMetrics, createMetrics } from "./metrics";
import { migrate } from "./storage/migrations";
import { openPgliteEngine } from "./storage/pglite-engine";
import { openPostgresEngine } from "./storage/postgres-engine";
import { ReadingStore } from "./storage/reading-store";
import type { SqlEngine } from "./storage/sql-engine";

export interface RunningCollector {
  url: string;
  deviceId: string;
  tokenFile: string;
  store: ReadingStore;
  metrics: CollectorMetrics;
  device: Device;
  /** Resolves when every buffered reading is committed. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  version?: string;
}

/**
 * Opens and migrates the configured database.
 * @throws CollectorStartError E_DATABASE_UNREACHABLE naming the database (never its credentials)
 */
export async function openDatabase(config: CollectorConfig, logger?: Logger): Promise<SqlEngine> {
  let db: SqlEngine | undefined;
  try {
    db =
      config.databaseUrl === undefined
        ? await openPgliteEngine(join(config.dataDir, "pgdata"), config.databaseSchema)
        : await openPostgresEngine(config.databaseUrl, config.databaseSchema, (e) =>
            logger?.warn({ err: { message: e.message } }, "database connection lost"),
          );
    await migrate(db);
    return db;
  } catch (error) {
    await db?.close().catch(() => undefined);
    const reason =
      (error as { code?: string; message?: string }).code ?? (error as Error).message ?? "failed";
    throw new CollectorStartError(
      "E_DATABASE_UNREACHABLE",
      `database unavailable: ${describeDatabase(config)} (${reason})`,
      { cause: error },
    );
  }
}

/** Joins the head (again) when the membership is missing or ends within the hour. */
async function ensureJoined(device: Device, config: CollectorConfig): Promise<void> {
  const status = await device.status();
  if (status.membership?.current && status.membership.expiresAt - Date.now() > 3_600_000) return;
  try {
    await device.join(config.headUrl, { position: { lat: config.latitude, lon: config.longitude } });
  } catch (error) {
    if (isDeviceError(error)) {
      const headCode = error.headCode;
      if (error.code === "E_HEAD_REFUSED" && (headCode === "E_NOT_MEMBER" || headCode === "E_REVOKED"))
        throw new CollectorStartError(
          "E_NOT_ENROLLED",
          `the head refused the collector's join (${headCode}): the operator enrolls device ${device.deviceId} (\`npm run collector -- enroll\` or POST /v1/devices)`,
          { cause: error },
        );
      if (error.code.endsWith("_UNREACHABLE"))
        throw new CollectorStartError("E_UNREACHABLE", error.message, { cause: error });
    }
    throw error;
  }
}

export async function startCollector(
  config: CollectorConfig,
  options: StartOptions = {},
): Promise<RunningCollector> {
  const logger = options.logger ?? pino({ level: config.logLevel });
  const db = await openDatabase(config, logger);
  let device: Device | undefined;
  let server: Server | undefined;
  try {
    const tokenFile = join(config.dataDir, "api-token");
    const token = loadOrCreateApiToken(tokenFile);
    device = await openCollectorDevice(config, false);
    const member = device;
    await ensureJoined(member, config);
    const metrics = createMetrics({ defaultMetrics: true, sdkRefused: () => member.stats.refused });
    const store = new ReadingStore(db);
    const writer = new BatchWriter(
      store,
      (peer, streamId, nextIndex) => {
        member.send(peer, encodeAck({ streamId, nextIndex })).catch((error: unknown) => {
          // The device re-sends what it has no ack for; the next commit acknowledges it.
          logger.warn({ peer, err: { message: (error as Error).message } }, "ack not sent");
        });
      },
      metrics,
      logger,
      config,
    );
    const ingest = new TelemetryIngest(writer, metrics, logger);
    member.on("message", (m) => ingest.onMessage(m));
    member.on("error", (e) => logger.warn({ err: { message: e.message } }, "device background error"));
    member.on("session-opened", (e) =>
      logger.debug({ peer: e.peerId, sessionId: e.sessionId }, "session opened"),
    );
    member.on("session-retired", (e) =>
      logger.debug({ peer: e.peerId, sessionId: e.sessionId, reason: e.reason }, "session keys deleted"),
    );
    member.on("inbound-dropped", (e) =>
      logger.info({ from: e.from, reason: e.reason }, "inbound message dropped"),
    );
    member.on("membership-ended", ({ reason }) =>
      logger.error({ reason }, "the collector's membership ended"),
    );
    await member.connect();

    const app = createApp({
      store,
      metrics,
      logger,
      token,
      version: options.version ?? "dev",
      status: () => ({
        deviceId: member.deviceId,
        database: db.kind,
        databaseUp: writer.databaseUp,
        buffered: writer.buffered,
      }),
    });
    server = await new Promise<Server>((resolve, reject) => {
      const s = app.listen(config.port, config.host, () => resolve(s));
      s.once("error", reject);
    });
    const address = server.address() as AddressInfo;
    const running = server;
    return {
      url: `http://${config.host}:${address.port}`,
      deviceId: member.deviceId,
      tokenFile,
      store,
      metrics,
      device: member,
      idle: () => writer.idle(),
      async stop() {
        await new Promise<void>((resolve) => running.close(() => resolve()));
        running.closeAllConnections?.();
        await member.idle();
        await writer.stop();
        await member.close();
        await db.close();
      },
    };
  } catch (error) {
    server?.close();
    await device?.close().catch(() => undefined);
    await db.close().catch(() => undefined);
    throw error;
  }
}
