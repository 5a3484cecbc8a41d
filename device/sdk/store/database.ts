/**
 * The device's level database: one per data directory, one sublevel per kind of record, JSON
 * values. Secrets inside records are wrapped by {@link SecretBox} before they reach this layer.
 */
import { chmodSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { Level } from "level";
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

type JsonLevel = Level<string, unknown>;
type Sublevel = ReturnType<JsonLevel["sublevel"]>;

/** An open device database. */
export class DeviceDatabase {
  readonly sub: Record<DeviceSublevelName, Sublevel>;

  private constructor(readonly db: JsonLevel) {
    this.sub = Object.fromEntries(
      DEVICE_SUBLEVELS.map((name) => [name, db.sublevel<string, unknown>(name, { valueEncoding: "json" })]),
    ) as Record<DeviceSublevelName, Sublevel>;
  }

  /**
   * Opens (creating) `<dataDir>/db`. The data directory is made 0700: level creates its files with
   * the process umask.
   * @throws DeviceError E_STORAGE (locked by another process, corrupt, unreadable)
   */
  static async open(dataDir: string): Promise<DeviceDatabase> {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    chmodSync(dataDir, 0o700);
    const db = new Level<string, unknown>(join(dataDir, "db"), { valueEncoding: "json" });
    try {
      await db.open();
    } catch (error) {
      const cause = (error as { cause?: Error }).cause?.message ?? (error as Error).message;
      throw new DeviceError(
        "E_STORAGE",
        `the device database in ${dataDir} cannot be opened (${cause}); is another iotguard process using this data directory?`,
      );
    }
    return new DeviceDatabase(db);
  }

  async get<T>(sublevel: DeviceSublevelName, key: string): Promise<T | undefined> {
    return (await this.sub[sublevel].get(key)) as T | undefined;
  }

  async put(sublevel: DeviceSublevelName, key: string, value: unknown): Promise<void> {
    await this.sub[sublevel].put(key, value);
  }

  async del(sublevel: DeviceSublevelName, key: string): Promise<void> {
    await this.sub[sublevel].del(key);
  }

  async entries<T>(sublevel: DeviceSublevelName): Promise<[string, T][]> {
    return (await this.sub[sublevel].iterator().all()) as [string, T][];
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
