/**
 * The device's level database: one per data directory, one sublevel per kind of record, JSON
 * values. Secrets inside records are wrapped by {@link SecretBox} before they reach this layer.
 * The generic parts live in platform/level-database.ts.
 */
import { join } from "node:path";
import {
  type JsonLevel,
  LevelDatabase,
  LevelOpenError,
  openJsonLevel,
} from "../../../platform/level-database";
import { DeviceError } from "../errors";

/** Every sublevel the device uses. */
export const DEVICE_SUBLEVELS = [
  "meta", // kdf parameters, identity, pinned head, membership
  "sessions", // one record per peer session (Sk wrapped)
  "pending", // grant nonces sent and not yet answered
  "sequence", // SequenceReservation bounds (first format: block starts)
  "receive", // highest accepted sequence number per session and direction
] as const;
export type DeviceSublevelName = (typeof DEVICE_SUBLEVELS)[number];

/** A level failure (disk full, database closed) as the device's one storage error; others unchanged. */
function storageError(error: unknown): unknown {
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== "string" || !code.startsWith("LEVEL_")) return error;
  return new DeviceError(
    "E_STORAGE",
    `the device database could not be ${code === "LEVEL_IO_ERROR" ? "written (is the disk full?)" : "used"}`,
    { cause: error },
  );
}

/**
 * An open device database: typed `get` / `put` / `del` / `entries` and atomic `batch`. A level
 * failure surfaces as DeviceError E_STORAGE.
 */
export class DeviceDatabase extends LevelDatabase<DeviceSublevelName> {
  private constructor(db: JsonLevel) {
    super(db, DEVICE_SUBLEVELS);
  }

  override async batch(...args: Parameters<LevelDatabase<DeviceSublevelName>["batch"]>): Promise<void> {
    try {
      await super.batch(...args);
    } catch (error) {
      throw storageError(error);
    }
  }

  override async get<T>(sublevel: DeviceSublevelName, key: string): Promise<T | undefined> {
    try {
      return await super.get<T>(sublevel, key);
    } catch (error) {
      throw storageError(error);
    }
  }

  /**
   * Opens (creating) `<dataDir>/db`. The data directory is made 0700: level creates its files with
   * the process umask.
   * @throws DeviceError E_STORAGE (locked by another process, corrupt, unreadable)
   */
  static async open(dataDir: string): Promise<DeviceDatabase> {
    try {
      return new DeviceDatabase(await openJsonLevel(join(dataDir, "db"), { privateDir: dataDir }));
    } catch (error) {
      if (!(error instanceof LevelOpenError)) throw error;
      throw new DeviceError(
        "E_STORAGE",
        `the device database in ${dataDir} cannot be opened (${error.reason}); is another iotguard process using this data directory?`,
        { cause: error },
      );
    }
  }
}
