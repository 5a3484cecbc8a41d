/**
 * Named operators: who may call the operator routes, with which scopes. Only a salted scrypt hash
 * of each token is stored (fsynced), never the token. All records are also held in memory: there
 * are few operators, and a token names its record by ID, so authentication reads no database.
 */
import type { HeadDatabase } from "./database";

/** What an operator may do; each operator route needs one (docs/api.md § Operators). */
export const OPERATOR_SCOPES = ["enroll", "revoke", "read", "admin"] as const;
export type OperatorScope = (typeof OPERATOR_SCOPES)[number];

/** scrypt parameters of a stored hash, kept with it so they can be raised later. */
export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** A stored operator. Not secret: the token cannot be recovered from `hash`. */
export interface OperatorRecord {
  name: string;
  /** 16 hex digits; the token's public part, to find this record without trying every hash. */
  id: string;
  scopes: OperatorScope[];
  /** hex */
  salt: string;
  /** hex scrypt(secret, salt) */
  hash: string;
  params: ScryptParams;
  createdAt: number;
  createdBy: string;
}

export class OperatorStore {
  private readonly byName = new Map<string, OperatorRecord>();
  private readonly byId = new Map<string, OperatorRecord>();

  private constructor(private readonly database: HeadDatabase) {}

  /** Loads every stored operator. */
  static async open(database: HeadDatabase): Promise<OperatorStore> {
    const store = new OperatorStore(database);
    for (const record of await database.values<OperatorRecord>("operators")) store.remember(record);
    return store;
  }

  private remember(record: OperatorRecord): void {
    this.byName.set(record.name, record);
    this.byId.set(record.id, record);
  }

  byTokenId(id: string): OperatorRecord | undefined {
    return this.byId.get(id);
  }

  get(name: string): OperatorRecord | undefined {
    return this.byName.get(name);
  }

  list(): OperatorRecord[] {
    return [...this.byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Stores a new operator durably (the caller checked the name is free). */
  async add(record: OperatorRecord): Promise<void> {
    await this.database.batch([{ type: "put", sublevel: "operators", key: record.name, value: record }], {
      durable: true,
    });
    this.remember(record);
  }

  /** Deletes an operator durably; its token stops working at once. */
  async remove(name: string): Promise<OperatorRecord | undefined> {
    const record = this.byName.get(name);
    if (!record) return undefined;
    await this.database.batch([{ type: "del", sublevel: "operators", key: name }], { durable: true });
    this.byName.delete(name);
    this.byId.delete(record.id);
    return record;
  }
}
