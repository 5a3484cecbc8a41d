/** The current membership (kid, expiry and K_m wrapped by the {@link SecretBox}). */
import { fromHex, type Membership, toHex } from "../../../protocol";
import type { DeviceDatabase } from "./database";
import type { SecretBox, WrappedSecret } from "./secret-box";

interface MembershipRecord {
  deviceId: string;
  kid: string;
  expiresAt: number;
  joinedAt: number;
  memberKey: WrappedSecret;
}

const KEY = "membership";
const SECRET_NAME = "member-key";

export class MembershipStore {
  constructor(
    private readonly db: DeviceDatabase,
    private readonly box: SecretBox,
  ) {}

  put(membership: Membership, joinedAt: number): Promise<void> {
    const record: MembershipRecord = {
      deviceId: toHex(membership.deviceId),
      kid: toHex(membership.kid),
      expiresAt: membership.expiresAt,
      joinedAt,
      memberKey: this.box.wrap(SECRET_NAME, membership.memberKey),
    };
    return this.db.put("meta", KEY, record);
  }

  async get(): Promise<(Membership & { joinedAt: number }) | undefined> {
    const r = await this.db.get<MembershipRecord>("meta", KEY);
    if (!r) return undefined;
    return {
      deviceId: fromHex(r.deviceId),
      kid: fromHex(r.kid),
      expiresAt: r.expiresAt,
      joinedAt: r.joinedAt,
      memberKey: this.box.unwrap(SECRET_NAME, r.memberKey),
    };
  }

  clear(): Promise<void> {
    return this.db.del("meta", KEY);
  }
}
