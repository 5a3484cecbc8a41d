/**
 * Named operators (docs/api.md § Operators): authenticate a bearer token to an operator with
 * scopes, and add, list and remove operators. A token is `iog1.<id>.<secret>`: the ID finds the
 * record, the secret is checked against its salted scrypt hash in constant time. The bootstrap
 * operator `admin` (the generated `<data-dir>/admin-token`, or `--admin-token`) holds every scope;
 * it is configuration, not a stored record, so the embedded story keeps working unchanged.
 */
import { createHash, scrypt as scryptCallback, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import { type RandomSource, toHex } from "../../../protocol";
import { HeadError } from "../errors";
import type { AuditStore } from "../stores/audit-store";
import {
  OPERATOR_SCOPES,
  type OperatorRecord,
  type OperatorScope,
  type OperatorStore,
  type ScryptParams,
} from "../stores/operator-store";

const scrypt = promisify(scryptCallback) as (
  secret: string,
  salt: Buffer,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

/** The name of the operator whose token the head generates (or is configured with). */
export const BOOTSTRAP_OPERATOR = "admin";
/** 16 MiB and tens of ms per check: costly to brute-force, though tokens are 256-bit random anyway. */
const SCRYPT_PARAMS: ScryptParams = { N: 2 ** 14, r: 8, p: 1 };
const HASH_BYTES = 32;
const TOKEN_PATTERN = /^iog1\.([0-9a-f]{16})\.([A-Za-z0-9_-]{43})$/;
/** Lowercase, starts with a letter or digit; `admin` is the bootstrap operator's. */
export const OPERATOR_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/**
 * scrypt checks of tokens not seen before that may run at once (libuv's thread pool has 4
 * threads); past it a request is refused with E_HEAD_BUSY rather than queued.
 */
const MAX_CONCURRENT_CHECKS = 4;

/** An authenticated operator. */
export interface Operator {
  name: string;
  scopes: readonly OperatorScope[];
}

/** An operator as listed: never its token or hash. */
export interface OperatorSummary {
  name: string;
  scopes: readonly OperatorScope[];
  createdAt?: number;
  createdBy?: string;
  bootstrap: boolean;
}

const sha256 = (text: string) => createHash("sha256").update(text).digest();

export class OperatorRegistry {
  readonly #bootstrapHash: Buffer;
  /** sha256(token) → operator name, for tokens whose scrypt check passed (purged on removal). */
  readonly #verified = new Map<string, string>();
  #checksInFlight = 0;

  /**
   * @param bootstrapToken - the `admin` operator's token (from the token file or configuration)
   */
  constructor(
    private readonly store: OperatorStore,
    bootstrapToken: string,
    private readonly audit: AuditStore,
    private readonly now: () => number,
    private readonly random: RandomSource,
  ) {
    this.#bootstrapHash = sha256(bootstrapToken);
  }

  /**
   * The operator a bearer token belongs to, or undefined.
   * @throws HeadError E_HEAD_BUSY when too many unseen tokens are being checked at once
   */
  async authenticate(token: string): Promise<Operator | undefined> {
    const digest = sha256(token);
    // Both sides are hashed first, so the comparison time says nothing about where they differ.
    if (timingSafeEqual(digest, this.#bootstrapHash))
      return { name: BOOTSTRAP_OPERATOR, scopes: OPERATOR_SCOPES };
    const key = digest.toString("hex");
    const cached = this.#verified.get(key);
    if (cached !== undefined) {
      const record = this.store.get(cached);
      if (record) return { name: record.name, scopes: record.scopes };
      this.#verified.delete(key);
    }
    const match = TOKEN_PATTERN.exec(token);
    const record = match ? this.store.byTokenId(match[1]!) : undefined;
    // An unknown ID costs no scrypt: the per-source rate limit bounds these.
    if (!record) return undefined;
    if (this.#checksInFlight >= MAX_CONCURRENT_CHECKS)
      throw new HeadError("E_HEAD_BUSY", "too many operator tokens being checked; retry later");
    this.#checksInFlight++;
    let hash: Buffer;
    try {
      hash = await scrypt(
        match![2]!,
        Buffer.from(record.salt, "hex"),
        HASH_BYTES,
        scryptOptions(record.params),
      );
    } finally {
      this.#checksInFlight--;
    }
    if (!timingSafeEqual(hash, Buffer.from(record.hash, "hex"))) return undefined;
    // Still there after the await (not removed meanwhile), and still this record.
    if (this.store.get(record.name) !== record) return undefined;
    this.#verified.set(key, record.name);
    return { name: record.name, scopes: record.scopes };
  }

  /** Every operator, the bootstrap one first. */
  list(): OperatorSummary[] {
    return [
      { name: BOOTSTRAP_OPERATOR, scopes: OPERATOR_SCOPES, bootstrap: true },
      ...this.store.list().map(({ name, scopes, createdAt, createdBy }) => ({
        name,
        scopes,
        createdAt,
        createdBy,
        bootstrap: false,
      })),
    ];
  }

  /**
   * Creates an operator and returns its token, the only time it exists outside the caller.
   * @throws HeadError E_VALIDATION (bad or reserved name, no scope), E_OPERATOR_EXISTS
   */
  async add(
    actor: Operator,
    name: string,
    scopes: readonly OperatorScope[],
  ): Promise<{ operator: OperatorSummary; token: string }> {
    if (!OPERATOR_NAME_PATTERN.test(name) || name === BOOTSTRAP_OPERATOR)
      throw new HeadError(
        "E_VALIDATION",
        `name: lowercase letters, digits, '.', '_' or '-', not "${BOOTSTRAP_OPERATOR}"`,
      );
    if (this.store.get(name))
      throw new HeadError("E_OPERATOR_EXISTS", `operator ${name} exists; remove it first`);
    const unique = [...new Set(scopes)];
    if (unique.length === 0) throw new HeadError("E_VALIDATION", "scopes: at least one");
    let id: string;
    do id = toHex(this.random(8));
    while (this.store.byTokenId(id));
    const secret = Buffer.from(this.random(32)).toString("base64url");
    const salt = Buffer.from(this.random(16));
    const hash = await scrypt(secret, salt, HASH_BYTES, scryptOptions(SCRYPT_PARAMS));
    const at = this.now();
    const record: OperatorRecord = {
      name,
      id,
      scopes: unique,
      salt: salt.toString("hex"),
      hash: hash.toString("hex"),
      params: SCRYPT_PARAMS,
      createdAt: at,
      createdBy: actor.name,
    };
    // The audit row first: an operator nobody can account for never exists.
    await this.audit.record(
      { at, event: "operator-added", operator: actor.name, name, scopes: unique },
      { durable: true },
    );
    await this.store.add(record);
    return {
      operator: { name, scopes: unique, createdAt: at, createdBy: actor.name, bootstrap: false },
      token: `iog1.${id}.${secret}`,
    };
  }

  /**
   * Removes an operator; its token is refused from the next request on.
   * @throws HeadError E_NOT_FOUND, E_VALIDATION for the bootstrap operator (configuration, not a record)
   */
  async remove(actor: Operator, name: string): Promise<void> {
    if (name === BOOTSTRAP_OPERATOR)
      throw new HeadError(
        "E_VALIDATION",
        `${BOOTSTRAP_OPERATOR} is the head's configured token; replace <data-dir>/admin-token (or --admin-token) and restart instead`,
      );
    if (!this.store.get(name)) throw new HeadError("E_NOT_FOUND", `no operator ${name}`);
    await this.audit.record(
      { at: this.now(), event: "operator-removed", operator: actor.name, name },
      { durable: true },
    );
    await this.store.remove(name);
    for (const [key, cachedName] of this.#verified) if (cachedName === name) this.#verified.delete(key);
  }
}

function scryptOptions(params: ScryptParams) {
  // maxmem above the 128 · N · r bytes scrypt needs, else Node refuses the parameters.
  return { ...params, maxmem: 256 * params.N * params.r };
}
