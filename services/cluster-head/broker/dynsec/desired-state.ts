/**
 * What Mosquitto's dynamic-security plugin must hold for one cluster, as pure functions: the names
 * the head gives its clients and roles, the ACLs of each (one for one with the embedded broker's
 * rules, docs/mqtt.md § Access control), and the commands that turn the broker's actual state into
 * the wanted one. Nothing here does I/O.
 *
 * Ownership: every role the head creates is named `iotguard-<clusterId>-…`; its member clients are
 * named by device ID (64 hex) and carry such a role, its own client is `iotguard-head-<clusterId>`.
 * Anything else on the broker (the admin, other applications, other clusters) is never touched.
 */
import { ctlTopic, headInTopic, inboxTopic, setupTopic, warnTopic } from "../../../../transport/mqtt";
import type { DynsecCommand } from "./control-client";

export type AclType =
  | "publishClientSend"
  | "publishClientReceive"
  | "subscribeLiteral"
  | "subscribePattern"
  | "unsubscribeLiteral"
  | "unsubscribePattern";

export interface Acl {
  acltype: AclType;
  topic: string;
  allow: boolean;
}

/** `setDefaultACLAccess`: deny everything a role does not grant (unsubscribing is harmless). */
export const DEFAULT_ACL_ACCESS = [
  { acltype: "publishClientSend", allow: false },
  { acltype: "publishClientReceive", allow: false },
  { acltype: "subscribe", allow: false },
  { acltype: "unsubscribe", allow: true },
] as const;

const DEVICE_ID_HEX = /^[0-9a-f]{64}$/;

/** The role of member `deviceIdHex` in `clusterId`. */
export function memberRoleName(clusterId: number, deviceIdHex: string): string {
  return `iotguard-${clusterId}-${deviceIdHex}`;
}

/** The role of the head of `clusterId`. */
export function headRoleName(clusterId: number): string {
  return `iotguard-${clusterId}-head`;
}

/** The user name (and client ID prefix) of the head's own MQTT client on an administered broker. */
export function headUsername(clusterId: number): string {
  return `iotguard-head-${clusterId}`;
}

/** `textname` of the clients the head creates, so an operator listing clients sees whose they are. */
export function clientTextName(clusterId: number, what: "member" | "head"): string {
  return `iotguard cluster ${clusterId} ${what}`;
}

/** Whether `rolename` is one the head of `clusterId` creates. */
export function isOurRole(clusterId: number, rolename: string): boolean {
  return rolename.startsWith(`iotguard-${clusterId}-`);
}

/** The ACL that lets a session peer write channel frames into `peer`'s inbox. */
export function sessionAcl(prefix: string, clusterId: number, peer: string): Acl {
  return { acltype: "publishClientSend", topic: inboxTopic(prefix, clusterId, peer), allow: true };
}

/**
 * A member's ACLs: subscribe to exactly its own inbox, warn and ctl (literal, so `+` and `#` are
 * refused), receive on them, publish its session set-up to its own setup topic and to the head's
 * `head/in`, and frames to the inbox of each peer it holds a live session with.
 */
export function memberRoleAcls(
  prefix: string,
  clusterId: number,
  deviceIdHex: string,
  peers: Iterable<string>,
): Acl[] {
  const own = [
    inboxTopic(prefix, clusterId, deviceIdHex),
    warnTopic(prefix, clusterId, deviceIdHex),
    ctlTopic(prefix, clusterId, deviceIdHex),
  ];
  return [
    ...own.map((topic): Acl => ({ acltype: "subscribeLiteral", topic, allow: true })),
    ...own.map((topic): Acl => ({ acltype: "publishClientReceive", topic, allow: true })),
    { acltype: "publishClientSend", topic: setupTopic(prefix, clusterId, deviceIdHex), allow: true },
    { acltype: "publishClientSend", topic: headInTopic(prefix, clusterId), allow: true },
    ...[...new Set(peers)].filter((p) => p !== deviceIdHex).map((p) => sessionAcl(prefix, clusterId, p)),
  ];
}

/** The head's ACLs: anything under its own cluster, nothing else. */
export function headRoleAcls(prefix: string, clusterId: number): Acl[] {
  const cluster = `${prefix}/c/${clusterId}/#`;
  return [
    { acltype: "publishClientSend", topic: cluster, allow: true },
    { acltype: "publishClientReceive", topic: cluster, allow: true },
    { acltype: "subscribePattern", topic: cluster, allow: true },
  ];
}

/** One current member as the broker must know it. */
export interface DesiredMember {
  deviceIdHex: string;
  /** Its broker password (derived from K_m). Secret: never logged. */
  password: string;
  /** Devices it holds a live session with. */
  peers: string[];
}

export interface DesiredState {
  clusterId: number;
  prefix: string;
  head: {
    /** Secret: never logged. */
    password: string;
    /** Set the password even when the client exists (the head's own connection is not up). */
    resetPassword: boolean;
  };
  members: DesiredMember[];
}

/** What `listClients`/`listRoles` (verbose) and `getDefaultACLAccess` report. */
export interface ActualState {
  clients: { username: string; clientid?: string; textname?: string; roles: string[] }[];
  roles: { rolename: string; acls: Acl[] }[];
  defaultAccess: { acltype: string; allow: boolean }[];
}

/** The commands to send, and what they change, for the log and `/health`. */
export interface ReconcilePlan {
  commands: DynsecCommand[];
  /** e.g. `client <id>`, `role <name>`, `acl <role> publishClientSend <topic>` */
  added: string[];
  removed: string[];
}

const aclKey = (a: Acl): string => `${a.acltype} ${a.topic} ${a.allow}`;

/** The commands that make `role`'s ACLs exactly `wanted` (same type+topic with another allow is replaced). */
export function roleAclFixes(
  rolename: string,
  actual: readonly Acl[],
  wanted: readonly Acl[],
): { commands: DynsecCommand[]; added: Acl[]; removed: Acl[] } {
  const wantedKeys = new Set(wanted.map(aclKey));
  const actualKeys = new Set(actual.map(aclKey));
  const removed = actual.filter((a) => !wantedKeys.has(aclKey(a)));
  const added = wanted.filter((a) => !actualKeys.has(aclKey(a)));
  return {
    commands: [
      ...removed.map((a) => ({ command: "removeRoleACL", rolename, acltype: a.acltype, topic: a.topic })),
      ...added.map((a) => ({ command: "addRoleACL", rolename, ...a })),
    ],
    added,
    removed,
  };
}

/** Whether `client` is one the head of `clusterId` created (a member client or its own). */
export function isOurClient(clusterId: number, client: ActualState["clients"][number]): boolean {
  if (client.username === headUsername(clusterId)) return true;
  return (
    DEVICE_ID_HEX.test(client.username) &&
    (client.roles.includes(memberRoleName(clusterId, client.username)) ||
      client.textname === clientTextName(clusterId, "member"))
  );
}

/**
 * The commands that turn `actual` into `desired`: default access denied, the head's role and
 * client, one role and one client per current member with exactly its ACLs; roles and clients of
 * ours that no current member needs are deleted. Existing member passwords are left alone (setting
 * one disconnects the client; the credential of a membership never changes while it lasts).
 */
export function planReconciliation(desired: DesiredState, actual: ActualState): ReconcilePlan {
  const { clusterId, prefix } = desired;
  const deletes: DynsecCommand[] = [];
  const creates: DynsecCommand[] = [];
  const fixes: DynsecCommand[] = [];
  const added: string[] = [];
  const removed: string[] = [];

  const defaultsOk = DEFAULT_ACL_ACCESS.every((d) =>
    actual.defaultAccess.some((a) => a.acltype === d.acltype && a.allow === d.allow),
  );
  if (!defaultsOk) {
    fixes.push({ command: "setDefaultACLAccess", acls: DEFAULT_ACL_ACCESS.map((a) => ({ ...a })) });
    added.push("defaultACLAccess deny");
  }

  const wantedRoles = new Map<string, Acl[]>([[headRoleName(clusterId), headRoleAcls(prefix, clusterId)]]);
  const wantedClients = new Map<string, { password: string; rolename: string; textname: string }>([
    [
      headUsername(clusterId),
      {
        password: desired.head.password,
        rolename: headRoleName(clusterId),
        textname: clientTextName(clusterId, "head"),
      },
    ],
  ]);
  for (const m of desired.members) {
    const rolename = memberRoleName(clusterId, m.deviceIdHex);
    wantedRoles.set(rolename, memberRoleAcls(prefix, clusterId, m.deviceIdHex, m.peers));
    wantedClients.set(m.deviceIdHex, {
      password: m.password,
      rolename,
      textname: clientTextName(clusterId, "member"),
    });
  }

  const actualRoles = new Map(actual.roles.map((r) => [r.rolename, r]));
  const actualClients = new Map(actual.clients.map((c) => [c.username, c]));

  for (const client of actual.clients) {
    if (isOurClient(clusterId, client) && !wantedClients.has(client.username)) {
      deletes.push({ command: "deleteClient", username: client.username });
      removed.push(`client ${client.username}`);
    }
  }
  for (const role of actual.roles) {
    if (isOurRole(clusterId, role.rolename) && !wantedRoles.has(role.rolename)) {
      deletes.push({ command: "deleteRole", rolename: role.rolename });
      removed.push(`role ${role.rolename}`);
    }
  }
  for (const [rolename, acls] of wantedRoles) {
    const existing = actualRoles.get(rolename);
    if (!existing) {
      creates.push({ command: "createRole", rolename, acls });
      added.push(`role ${rolename}`);
      continue;
    }
    const fix = roleAclFixes(rolename, existing.acls, acls);
    fixes.push(...fix.commands);
    added.push(...fix.added.map((a) => `acl ${rolename} ${a.acltype} ${a.topic}`));
    removed.push(...fix.removed.map((a) => `acl ${rolename} ${a.acltype} ${a.topic}`));
  }
  for (const [username, want] of wantedClients) {
    const existing = actualClients.get(username);
    const isHead = username === headUsername(clusterId);
    if (!existing) {
      creates.push({
        command: "createClient",
        username,
        password: want.password,
        // The head's client ID carries a random suffix per process; members' must be their device ID.
        ...(isHead ? {} : { clientid: username }),
        textname: want.textname,
        roles: [{ rolename: want.rolename }],
      });
      added.push(`client ${username}`);
      continue;
    }
    if (!existing.roles.includes(want.rolename)) {
      fixes.push({ command: "addClientRole", username, rolename: want.rolename });
      added.push(`client-role ${username} ${want.rolename}`);
    }
    for (const other of existing.roles.filter((r) => r !== want.rolename)) {
      fixes.push({ command: "removeClientRole", username, rolename: other });
      removed.push(`client-role ${username} ${other}`);
    }
    if (!isHead && existing.clientid !== username) {
      fixes.push({ command: "setClientId", username, clientid: username });
      added.push(`client-id ${username}`);
    }
    if (isHead && desired.head.resetPassword)
      fixes.push({ command: "setClientPassword", username, password: want.password });
  }
  return { commands: [...deletes, ...creates, ...fixes], added, removed };
}

/**
 * The commands that admit one member: its role and client, created. When they exist already (a
 * join again) the caller repairs them instead (dynsec-access.ts).
 */
export function memberCreateCommands(
  prefix: string,
  clusterId: number,
  member: DesiredMember,
): DynsecCommand[] {
  const rolename = memberRoleName(clusterId, member.deviceIdHex);
  return [
    {
      command: "createRole",
      rolename,
      acls: memberRoleAcls(prefix, clusterId, member.deviceIdHex, member.peers),
    },
    {
      command: "createClient",
      username: member.deviceIdHex,
      password: member.password,
      clientid: member.deviceIdHex,
      textname: clientTextName(clusterId, "member"),
      roles: [{ rolename }],
    },
  ];
}

/** The commands that remove one member: its client (which disconnects it) and its role. */
export function memberDeleteCommands(clusterId: number, deviceIdHex: string): DynsecCommand[] {
  return [
    { command: "deleteClient", username: deviceIdHex },
    { command: "deleteRole", rolename: memberRoleName(clusterId, deviceIdHex) },
  ];
}
