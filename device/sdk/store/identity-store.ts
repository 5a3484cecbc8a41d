/**
 * The device's long-term identity: a random 32-byte device ID and a secp256k1 key whose address
 * the registry stores. The secret key is wrapped by the {@link SecretBox}; it is never printed.
 */
import { fromHex, generateIdentity, type Identity, identityFromSecretKey, toHex } from "../../../protocol";
import { randomBytes } from "@noble/hashes/utils.js";
import type { DeviceDatabase } from "./database";
import type { KdfRecord, SecretBox, WrappedSecret } from "./secret-box";

interface IdentityRecord {
  deviceId: string;
  keyAddress: string;
  secretKey: WrappedSecret;
  createdAt: number;
}

/** The identity as the rest of the SDK sees it. `identity.secretKey` is owned by the holder. */
export interface DeviceIdentity {
  deviceId: Uint8Array;
  deviceIdHex: string;
  identity: Identity;
}

const KDF_KEY = "kdf";
const IDENTITY_KEY = "identity";
const SECRET_NAME = "device-key";

/** Reads and writes the KDF record and the identity. */
export class IdentityStore {
  constructor(private readonly db: DeviceDatabase) {}

  kdf(): Promise<KdfRecord | undefined> {
    return this.db.get<KdfRecord>("meta", KDF_KEY);
  }

  async exists(): Promise<boolean> {
    return (await this.db.get("meta", IDENTITY_KEY)) !== undefined;
  }

  /** Creates and stores a fresh identity (the KDF record first, so the box can be reopened). */
  async create(kdf: KdfRecord, box: SecretBox, now: number): Promise<DeviceIdentity> {
    const identity = generateIdentity();
    const deviceId = randomBytes(32);
    const record: IdentityRecord = {
      deviceId: toHex(deviceId),
      keyAddress: toHex(identity.address),
      secretKey: box.wrap(SECRET_NAME, identity.secretKey),
      createdAt: now,
    };
    await this.db.batch([
      { type: "put", sublevel: "meta", key: KDF_KEY, value: kdf },
      { type: "put", sublevel: "meta", key: IDENTITY_KEY, value: record },
    ]);
    return { deviceId, deviceIdHex: record.deviceId, identity };
  }

  /** Loads the identity, or undefined when none. @throws DeviceError E_BAD_PASSPHRASE */
  async load(box: SecretBox): Promise<DeviceIdentity | undefined> {
    const record = await this.db.get<IdentityRecord>("meta", IDENTITY_KEY);
    if (!record) return undefined;
    const secretKey = box.unwrap(SECRET_NAME, record.secretKey);
    const identity = identityFromSecretKey(secretKey);
    secretKey.fill(0);
    return { deviceId: fromHex(record.deviceId), deviceIdHex: record.deviceId, identity };
  }
}
