/**
 * Reconciliation: read the broker's clients, roles and default access, compare them with what the
 * head's members and sessions call for ({@link planReconciliation}), and send the difference. Run
 * at start and after every reconnect of the admin connection, so a broker restarted with an old or
 * lost dynsec file and a head restarted with its database both come back consistent.
 */
import type { Acl, ActualState, DesiredState } from "./desired-state";
import { planReconciliation } from "./desired-state";
import type { DynsecCommand, DynsecControlClient, DynsecResult } from "./control-client";

/** Commands per control message: the plugin answers a whole message at once. */
const COMMANDS_PER_MESSAGE = 100;

/** What one reconciliation changed. */
export interface ReconcileResult {
  /** Unix ms. */
  at: number;
  added: string[];
  removed: string[];
}

/** `listClients`, `listRoles` (verbose, all) and `getDefaultACLAccess`. */
export async function readBrokerState(control: DynsecControlClient): Promise<ActualState> {
  const [clients, roles, defaults] = await control.runOk([
    { command: "listClients", verbose: true, count: -1 },
    { command: "listRoles", verbose: true, count: -1 },
    { command: "getDefaultACLAccess" },
  ]);
  const clientList = ((clients!.data as { clients?: unknown[] })?.clients ?? []) as Array<{
    username: string;
    clientid?: string;
    textname?: string;
    roles?: { rolename: string }[];
  }>;
  const roleList = ((roles!.data as { roles?: unknown[] })?.roles ?? []) as Array<{
    rolename: string;
    acls?: Acl[];
  }>;
  return {
    clients: clientList.map((c) => ({
      username: c.username,
      ...(c.clientid === undefined ? {} : { clientid: c.clientid }),
      ...(c.textname === undefined ? {} : { textname: c.textname }),
      roles: (c.roles ?? []).map((r) => r.rolename),
    })),
    roles: roleList.map((r) => ({
      rolename: r.rolename,
      acls: (r.acls ?? []).map((a) => ({ acltype: a.acltype, topic: a.topic, allow: a.allow })),
    })),
    defaultAccess: ((defaults!.data as { acls?: { acltype: string; allow: boolean }[] })?.acls ?? []).map(
      (a) => ({ acltype: a.acltype, allow: a.allow }),
    ),
  };
}

/** Sends `commands` in messages of at most {@link COMMANDS_PER_MESSAGE}; throws on the first refusal. */
export async function runAll(
  control: DynsecControlClient,
  commands: DynsecCommand[],
): Promise<DynsecResult[]> {
  const results: DynsecResult[] = [];
  for (let i = 0; i < commands.length; i += COMMANDS_PER_MESSAGE)
    results.push(...(await control.runOk(commands.slice(i, i + COMMANDS_PER_MESSAGE))));
  return results;
}

/**
 * Makes the broker match `desired` (computed by the caller while no other change runs).
 * @throws BrokerAdminError when the broker cannot be read or refuses a command
 */
export async function reconcileBroker(
  control: DynsecControlClient,
  desired: DesiredState,
  now: number,
): Promise<ReconcileResult> {
  const plan = planReconciliation(desired, await readBrokerState(control));
  await runAll(control, plan.commands);
  return { at: now, added: plan.added, removed: plan.removed };
}
