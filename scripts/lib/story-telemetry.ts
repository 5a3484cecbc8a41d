/**
 * The story's telemetry act (`npm start`): a collector joins the cluster as an ordinary member, a
 * sensor device streams 200 readings of the committed vitals data set to it through a session key
 * rotation, and the story reads them back through the collector's REST API and summarises them.
 * The same steps by hand are in README.md § Telemetry.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import pino from "pino";
import { Device, type RegistryAnchor } from "../../device/sdk";
import { type RunningCollector, startCollector } from "../../services/collector/collector";
import { loadConfig } from "../../services/collector/config";
import { openCollectorDevice } from "../../services/collector/identity";
import { decodeAck, encodeReadingBatch, READING_FIELDS, type Reading } from "../../telemetry";
import type { BrokerTls } from "../../transport/mqtt";

/** The readings the act sends, from the data set's first patient. */
const READINGS = 200;
/** Readings per frame: 200 readings are 8 frames. */
const PER_FRAME = 25;
/** The sensor's session is re-keyed after this many frames: 8 frames take one rotation. */
const ROTATE_AFTER_FRAMES = 5n;
const DATA_SET = resolve(__dirname, "../../data/vitals.csv");

export interface TelemetryActOptions {
  workDir: string;
  head: { url: string; clusterId: number };
  adminToken: string;
  rpcUrl: string;
  deploymentFile: string;
  registry: RegistryAnchor;
  position: { lat: number; lon: number };
  /** The broker's CA file and its contents, when the broker speaks TLS. */
  brokerCa?: { file: string; tls: BrokerTls };
  ok(step: string, text: string): void;
  cleanups: (() => Promise<unknown> | unknown)[];
}

/** The first `count` readings of the data set's first patient (data/README.md describes the columns). */
export function readDataSet(count: number, file = DATA_SET): Reading[] {
  const [header, ...rows] = readFileSync(file, "utf8").trim().split("\n");
  const columns = (header as string).split(",");
  const patient = columns.indexOf("patient");
  const firstPatient = (rows[0] as string).split(",")[patient];
  return rows
    .map((row) => row.split(","))
    .filter((cells) => cells[patient] === firstPatient)
    .slice(0, count)
    .map((cells) => {
      const reading: Record<string, number> = {};
      for (const field of READING_FIELDS) reading[field.name] = Number(cells[columns.indexOf(field.column)]);
      return reading as unknown as Reading;
    });
}

async function startStoryCollector(o: TelemetryActOptions): Promise<RunningCollector> {
  const config = loadConfig(
    {
      dataDir: join(o.workDir, "collector"),
      headUrl: o.head.url,
      rpcUrl: o.rpcUrl,
      deploymentFile: o.deploymentFile,
      latitude: String(o.position.lat),
      longitude: String(o.position.lon),
      port: "0",
      logLevel: "silent",
      ...(o.brokerCa ? { brokerCa: o.brokerCa.file } : {}),
    },
    {},
  );
  // Enrolled by the operator like any device (`npm run collector -- enroll`), then started.
  const identity = await openCollectorDevice(config, true);
  try {
    await identity.enroll(o.head.url, o.adminToken);
  } finally {
    await identity.close();
  }
  return startCollector(config, { logger: pino({ level: "silent" }) });
}

export async function tellTelemetry(o: TelemetryActOptions): Promise<void> {
  const collector = await startStoryCollector(o);
  o.cleanups.push(() => collector.stop());
  o.ok(
    "collector",
    `${collector.deviceId.slice(0, 8)}… joined cluster ${o.head.clusterId} as an ordinary member; readings go to PGlite in its data directory`,
  );

  const sensor = await Device.open(join(o.workDir, "sensor"), {
    registry: o.registry,
    rotation: { maxMessages: ROTATE_AFTER_FRAMES },
    ...(o.brokerCa ? { brokerTls: o.brokerCa.tls } : {}),
  });
  o.cleanups.push(() => sensor.close());
  await sensor.init();
  await sensor.enroll(o.head.url, o.adminToken);
  await sensor.join(o.head.url, { position: o.position });
  await sensor.connect();

  const readings = readDataSet(READINGS);
  const streamId = randomBytes(8);
  const rotations: string[] = [];
  sensor.on("session-rotated", (e) => rotations.push(e.sessionId));
  let acknowledged = 0;
  const allAcknowledged = new Promise<void>((done, fail) => {
    const timer = setTimeout(
      () => fail(new Error(`only ${acknowledged} of ${READINGS} readings acknowledged`)),
      30_000,
    );
    sensor.on("message", (m) => {
      if (m.from !== collector.deviceId) return;
      const ack = decodeAck(m.data);
      if (Buffer.from(ack.streamId).equals(streamId)) acknowledged = Math.max(acknowledged, ack.nextIndex);
      if (acknowledged >= READINGS) {
        clearTimeout(timer);
        done();
      }
    });
  });
  for (let first = 0; first < readings.length; first += PER_FRAME)
    await sensor.send(
      collector.deviceId,
      encodeReadingBatch({ streamId, firstIndex: first, readings: readings.slice(first, first + PER_FRAME) }),
    );
  await allAcknowledged;
  o.ok(
    "telemetry",
    `the sensor sent ${READINGS} readings of data/vitals.csv in ${READINGS / PER_FRAME} frames; its session was re-keyed ${rotations.length} time(s) on the way; the collector acknowledged all ${acknowledged}`,
  );

  // Read back as an operator does: the collector's REST API with its token.
  const token = readFileSync(collector.tokenFile, "utf8").trim();
  const response = await fetch(`${collector.url}/v1/readings?device=${sensor.deviceId}&limit=1000`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const body = (await response.json()) as { readings: Reading[] };
  if (response.status !== 200) throw new Error(`reading back failed: ${JSON.stringify(body)}`);
  const rows = body.readings;
  if (rows.length !== READINGS) throw new Error(`stored ${rows.length} rows, expected ${READINGS}`);
  const mean = (f: (r: Reading) => number) => rows.reduce((sum, r) => sum + f(r), 0) / rows.length;
  const minutes = (rows[rows.length - 1]!.deviceTimeMs - rows[0]!.deviceTimeMs) / 60_000;
  o.ok(
    "readings",
    `${rows.length} rows in the database over ${minutes.toFixed(0)} min: heart rate mean ${mean((r) => r.heartRateBpm).toFixed(1)} bpm, SpO2 min ${Math.min(...rows.map((r) => r.spo2Percent))} %, temperature mean ${(mean((r) => r.temperatureCentiC) / 100).toFixed(2)} °C`,
  );
}
