/**
 * Settings of a service (the head, the collector): each has a flag, an environment variable, an
 * optional default and a meaning (the README tables come from these), and is validated once at
 * start, so a bad value stops the service with one line naming the setting.
 */
import type { z } from "zod";

/** One setting: its flag, environment variable, default and meaning. */
export interface Setting<T extends z.ZodType> {
  flag: string;
  env: string;
  schema: T;
  default?: string;
  description: string;
  /** Never echo the value in an error (it may hold a password or a key). */
  secret?: boolean;
}

/** Declares one setting (an identity function that keeps the schema's type). */
export function setting<T extends z.ZodType>(s: Setting<T>): Setting<T> {
  return s;
}

/** The validated values of a settings table, by name. */
export type ResolvedSettings<S extends Record<string, Setting<z.ZodType>>> = {
  [K in keyof S]: z.infer<S[K]["schema"]>;
};

/** A setting had a value that does not fit; the message names the flag and variable. */
export class ConfigError extends Error {
  readonly code = "E_CONFIG";
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/**
 * Resolves every setting from flags (highest), then environment, then defaults, and validates it.
 * An empty string counts as unset.
 * @param flags - values keyed by setting name (e.g. from commander)
 * @throws ConfigError naming the first bad setting (never echoing a secret one's value)
 */
export function resolveSettings<S extends Record<string, Setting<z.ZodType>>>(
  settings: S,
  flags: Partial<Record<keyof S, string>>,
  env: NodeJS.ProcessEnv,
): ResolvedSettings<S> {
  const resolved: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(settings)) {
    const raw = flags[name as keyof S] ?? env[spec.env] ?? spec.default;
    const parsed = spec.schema.safeParse(raw === "" ? undefined : raw);
    if (!parsed.success) {
      const shown = spec.secret || raw === undefined ? "" : ` (got "${raw}")`;
      throw new ConfigError(
        `invalid setting ${spec.flag} / ${spec.env}${shown}: ${parsed.error.issues[0]?.message}`,
      );
    }
    resolved[name] = parsed.data;
  }
  return resolved as ResolvedSettings<S>;
}

/**
 * The settings among commander's parsed options. Commander names an option after its flag
 * (`--deployment` → `deployment`, `--rpc-url` → `rpcUrl`); settings have their own names.
 */
export function settingsFromOptions<S extends Record<string, Setting<z.ZodType>>>(
  settings: S,
  options: Record<string, string | undefined>,
): Partial<Record<keyof S, string>> {
  const flags: Partial<Record<keyof S, string>> = {};
  for (const [name, spec] of Object.entries(settings)) {
    const attribute = spec.flag.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const value = options[attribute];
    if (value !== undefined) flags[name as keyof S] = value;
  }
  return flags;
}
