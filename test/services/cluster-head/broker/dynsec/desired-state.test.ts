/** The dynsec desired-state mapping and reconciliation plan, as pure functions. */
import { describe, expect, it } from "vitest";
import {
  type ActualState,
  DEFAULT_ACL_ACCESS,
  type DesiredState,
  headRoleAcls,
  headRoleName,
  headUsername,
  memberRoleAcls,
  memberRoleName,
  planReconciliation,
  roleAclFixes,
} from "../../../../../services/cluster-head/broker/dynsec/desired-state";

const A = "a".repeat(64);
const B = "b".repeat(64);
const STRANGER = "c".repeat(64);
const PREFIX = "iotguard";

function desired(members: DesiredState["members"], resetPassword = false): DesiredState {
  return { clusterId: 7, prefix: PREFIX, head: { password: "head-secret", resetPassword }, members };
}

const empty: ActualState = { clients: [], roles: [], defaultAccess: [] };

/** The broker as a previous reconciliation of `state` left it. */
function brokerOf(state: DesiredState): ActualState {
  return {
    clients: [
      { username: "iotguard-admin", roles: ["admin"] },
      { username: headUsername(7), roles: [headRoleName(7)] },
      ...state.members.map((m) => ({
        username: m.deviceIdHex,
        clientid: m.deviceIdHex,
        roles: [memberRoleName(7, m.deviceIdHex)],
      })),
    ],
    roles: [
      { rolename: "admin", acls: [{ acltype: "subscribePattern", topic: "#", allow: true }] },
      { rolename: headRoleName(7), acls: headRoleAcls(PREFIX, 7) },
      ...state.members.map((m) => ({
        rolename: memberRoleName(7, m.deviceIdHex),
        acls: memberRoleAcls(PREFIX, 7, m.deviceIdHex, m.peers),
      })),
    ],
    defaultAccess: DEFAULT_ACL_ACCESS.map((a) => ({ ...a })),
  };
}

describe("member role ACLs", () => {
  it("grants exactly its own inbox, warn and ctl literally, its set-up topic, head/in and its session peers' inboxes", () => {
    const acls = memberRoleAcls(PREFIX, 7, A, [B, B, A]);
    const base = `iotguard/c/7/d/${A}`;
    expect(acls).toEqual([
      { acltype: "subscribeLiteral", topic: `${base}/inbox`, allow: true },
      { acltype: "subscribeLiteral", topic: `${base}/warn`, allow: true },
      { acltype: "subscribeLiteral", topic: `${base}/ctl`, allow: true },
      { acltype: "publishClientReceive", topic: `${base}/inbox`, allow: true },
      { acltype: "publishClientReceive", topic: `${base}/warn`, allow: true },
      { acltype: "publishClientReceive", topic: `${base}/ctl`, allow: true },
      { acltype: "publishClientSend", topic: `${base}/setup`, allow: true },
      { acltype: "publishClientSend", topic: "iotguard/c/7/head/in", allow: true },
      { acltype: "publishClientSend", topic: `iotguard/c/7/d/${B}/inbox`, allow: true },
    ]);
    expect(acls.some((a) => a.topic.includes("#") || a.topic.includes("+"))).toBe(false);
  });
});

describe("reconciliation plan", () => {
  it("on an empty broker denies by default and creates the head's and each member's role and client", () => {
    const plan = planReconciliation(desired([{ deviceIdHex: A, password: "pw-a", peers: [] }]), empty);
    const commands = plan.commands.map((c) => `${c.command} ${c.rolename ?? c.username ?? ""}`.trim());
    expect(commands).toEqual([
      `createRole ${headRoleName(7)}`,
      `createRole ${memberRoleName(7, A)}`,
      `createClient ${headUsername(7)}`,
      `createClient ${A}`,
      "setDefaultACLAccess",
    ]);
    const member = plan.commands.find((c) => c.command === "createClient" && c.username === A);
    expect(member).toMatchObject({
      password: "pw-a",
      clientid: A,
      roles: [{ rolename: memberRoleName(7, A) }],
    });
    expect(plan.added).toContain(`client ${A}`);
    expect(plan.removed).toEqual([]);
  });

  it("changes nothing when the broker already matches", () => {
    const state = desired([
      { deviceIdHex: A, password: "pw-a", peers: [B] },
      { deviceIdHex: B, password: "pw-b", peers: [A] },
    ]);
    expect(planReconciliation(state, brokerOf(state))).toEqual({ commands: [], added: [], removed: [] });
  });

  it("deletes the clients and roles it created for no current member, and never touches the others", () => {
    const before = desired([
      { deviceIdHex: A, password: "pw-a", peers: [] },
      { deviceIdHex: STRANGER, password: "pw-s", peers: [] },
    ]);
    const actual = brokerOf(before);
    // Another application's client named like a device, and another cluster's role: not ours.
    actual.clients.push({ username: B, roles: ["other-app"] });
    actual.roles.push({ rolename: memberRoleName(8, B), acls: [] }, { rolename: "other-app", acls: [] });
    const plan = planReconciliation(desired([{ deviceIdHex: A, password: "pw-a", peers: [] }]), actual);
    expect(plan.commands).toEqual([
      { command: "deleteClient", username: STRANGER },
      { command: "deleteRole", rolename: memberRoleName(7, STRANGER) },
    ]);
    expect(plan.removed).toEqual([`client ${STRANGER}`, `role ${memberRoleName(7, STRANGER)}`]);
  });

  it("adds a missing session ACL and removes one of an ended session, leaving passwords alone", () => {
    const state = desired([
      { deviceIdHex: A, password: "pw-a", peers: [] },
      { deviceIdHex: B, password: "pw-b", peers: [] },
    ]);
    const actual = brokerOf(
      desired([
        { deviceIdHex: A, password: "old", peers: [B] },
        { deviceIdHex: B, password: "old", peers: [] },
      ]),
    );
    const plan = planReconciliation(state, actual);
    expect(plan.commands).toEqual([
      {
        command: "removeRoleACL",
        rolename: memberRoleName(7, A),
        acltype: "publishClientSend",
        topic: `iotguard/c/7/d/${B}/inbox`,
      },
    ]);
  });

  it("sets the head's password only when its own connection is down, and restores default deny", () => {
    const state = desired([], true);
    const actual = brokerOf(desired([]));
    actual.defaultAccess = [{ acltype: "publishClientSend", allow: true }];
    const commands = planReconciliation(state, actual).commands;
    expect(commands).toContainEqual({
      command: "setClientPassword",
      username: headUsername(7),
      password: "head-secret",
    });
    expect(commands.filter((c) => c.command === "setDefaultACLAccess")).toHaveLength(1);
  });

  it("gives a member client back its role and its client ID", () => {
    const state = desired([{ deviceIdHex: A, password: "pw-a", peers: [] }]);
    const actual = brokerOf(state);
    actual.clients = actual.clients.map((c) =>
      c.username === A ? { username: A, clientid: "x", roles: [] } : c,
    );
    expect(planReconciliation(state, actual).commands).toEqual([
      { command: "addClientRole", username: A, rolename: memberRoleName(7, A) },
      { command: "setClientId", username: A, clientid: A },
    ]);
  });
});

describe("role ACL fixes", () => {
  it("replaces an ACL whose allow differs", () => {
    const topic = "t";
    const fix = roleAclFixes(
      "r",
      [{ acltype: "publishClientSend", topic, allow: false }],
      [{ acltype: "publishClientSend", topic, allow: true }],
    );
    expect(fix.commands).toEqual([
      { command: "removeRoleACL", rolename: "r", acltype: "publishClientSend", topic },
      { command: "addRoleACL", rolename: "r", acltype: "publishClientSend", topic, allow: true },
    ]);
  });
});
