/**
 * {@link BrokerAccess} on a Mosquitto administered through its dynamic-security plugin: the head
 * creates one client and one role per member at join, adds session ACLs at grant, removes them
 * when the session expires and deletes the client (which disconnects it) when the membership ends.
 * Mosquitto checks nothing against the head's state, so every expiry is also timed here (the
 * embedded broker checks expiry on each packet). Whatever could not be applied (broker down, a
 * command lost) is repaired by {@link DynsecAccess.reconcile}, run at start, after each reconnect of
 * the admin connection and after a failed change.
 */
import type { Logger } from "pino";
import { brokerPassword, type Membership, toHex } from "../../../../protocol";
import type { HeadContext } from "../../context";
import { HeadError } from "../../errors";
import { isCurrentMember } from "../../use-cases/membership-standing";
import type { BrokerAccess } from "../broker-access";
import { AccessLocks } from "./access-locks";
import type { DynsecCommand, DynsecControlClient, DynsecResult } from "./control-client";
import {
  type Acl,
  type DesiredMember,
  type DesiredState,
  memberCreateCommands,
  memberDeleteCommands,
  memberRoleAcls,
  memberRoleName,
  roleAclFixes,
  sessionAcl,
} from "./desired-state";
import { BrokerAdminError } from "./errors";
import { reconcileBroker, type ReconcileResult } from "./reconciler";

/** setTimeout's ceiling; later deadlines are re-armed when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Delay before a reconciliation that failed is tried again (while the admin connection is up). */
const RECONCILE_RETRY_MS = 5000;

const isMissing = (r: DynsecResult): boolean => /not found/i.test(r.error ?? "");
const isPresent = (r: DynsecResult): boolean => /already exists/i.test(r.error ?? "");

/** The summary `/health` shows under `broker.reconciled`. */
export interface ReconcileSummary {
  at: number;
  added: number;
  removed: number;
}

export interface DynsecAccessOptions {
  /** The head's own client password (random per process). Secret. */
  headPassword: string;
  /** Whether the head's own MQTT connection is up (if not, its password is set again on reconcile). */
  headConnected: () => boolean;
}

export class DynsecAccess implements BrokerAccess {
  readonly #ctx: HeadContext;
  readonly #control: DynsecControlClient;
  readonly #options: DynsecAccessOptions;
  readonly #locks = new AccessLocks();
  readonly #deadlines = new Map<string, { at: number; run: () => Promise<void> }>();
  #timer: NodeJS.Timeout | undefined;
  #retry: NodeJS.Timeout | undefined;
  #reconciling: Promise<ReconcileResult> | undefined;
  #last: ReconcileSummary | undefined;
  #closed = false;

  constructor(ctx: HeadContext, control: DynsecControlClient, options: DynsecAccessOptions) {
    this.#ctx = ctx;
    this.#control = control;
    this.#options = options;
    control.on("reconnected", () => this.requestReconcile("admin connection back"));
  }

  get #log(): Logger {
    return this.#ctx.logger;
  }

  /** Admin connection and last reconciliation, for `/health`. */
  status(): { adminConnected: boolean; reconciled: ReconcileSummary | undefined } {
    return { adminConnected: this.#control.connected, reconciled: this.#last };
  }

  async admitMember<T>(membership: Membership, record: () => Promise<T>): Promise<T> {
    const deviceId = toHex(membership.deviceId);
    return this.#locks.run([deviceId], async () => {
      const previous = this.#ctx.members.getByDevice(deviceId);
      await this.#tell("admit member", () => this.#ensureMember(deviceId, brokerPassword(membership)));
      let recorded: T;
      try {
        recorded = await record();
      } catch (error) {
        // Nothing stored: put the broker back as the store has it.
        const still = this.#ctx.members.getByDevice(deviceId);
        await this.#bestEffort("undo admission", () =>
          still === previous && still && still.expiresAt > this.#ctx.now()
            ? this.#ensureMember(deviceId, brokerPassword(still.membership))
            : this.#deleteMember(deviceId, []),
        );
        throw error;
      }
      this.#schedule(`m:${deviceId}`, membership.expiresAt, () => this.#memberDeadline(deviceId));
      return recorded;
    });
  }

  async grantSession<T>(
    initiator: string,
    responder: string,
    expiresAt: number,
    record: () => Promise<T>,
  ): Promise<T> {
    return this.#locks.run([initiator, responder], async () => {
      await this.#tell("grant session", () => this.#addSessionAcls(initiator, responder));
      let recorded: T;
      try {
        recorded = await record();
      } catch (error) {
        if (!this.#ctx.sessions.haveSession(initiator, responder, this.#ctx.now()))
          await this.#bestEffort("undo grant", () => this.#removeSessionAcls(initiator, responder));
        throw error;
      }
      const pair = [initiator, responder].sort().join(":");
      this.#schedule(`s:${pair}`, expiresAt, () => this.#sessionDeadline(initiator, responder));
      return recorded;
    });
  }

  async membershipEnded(deviceId: string, peers: readonly string[]): Promise<void> {
    await this.#locks.run([deviceId, ...peers], () =>
      this.#bestEffort("end membership", async () => {
        // A join admitted meanwhile keeps its client (housekeeping reports removals after the fact).
        if ((this.#ctx.members.getByDevice(deviceId)?.expiresAt ?? 0) > this.#ctx.now()) return;
        await this.#deleteMember(deviceId, peers);
      }),
    );
  }

  /**
   * Makes the broker match the head's current members and live sessions (alone: no join, grant or
   * end runs meanwhile), and arms the expiry timers of what it keeps.
   * @throws BrokerAdminError when the broker cannot be read or refuses a change
   */
  async reconcile(): Promise<ReconcileResult> {
    if (this.#reconciling) return this.#reconciling;
    this.#reconciling = this.#locks
      .exclusive(async () => {
        const desired = await this.#desiredState();
        const result = await reconcileBroker(this.#control, desired, this.#ctx.now());
        for (const m of desired.members) {
          const member = this.#ctx.members.getByDevice(m.deviceIdHex);
          if (member)
            this.#schedule(`m:${m.deviceIdHex}`, member.expiresAt, () => this.#memberDeadline(m.deviceIdHex));
        }
        for (const s of this.#ctx.sessions.live(this.#ctx.now())) {
          const pair = [s.initiator, s.responder].sort().join(":");
          this.#schedule(`s:${pair}`, s.expiresAt, () => this.#sessionDeadline(s.initiator, s.responder));
        }
        this.#last = { at: result.at, added: result.added.length, removed: result.removed.length };
        const changed = result.added.length + result.removed.length > 0;
        this.#log[changed ? "warn" : "info"](
          {
            added: result.added.slice(0, 50),
            removed: result.removed.slice(0, 50),
            addedCount: result.added.length,
            removedCount: result.removed.length,
          },
          changed
            ? "broker access reconciled: the broker differed from the head's members"
            : "broker access checked",
        );
        return result;
      })
      .finally(() => {
        this.#reconciling = undefined;
      });
    return this.#reconciling;
  }

  /** Reconciles soon; on failure tries again while the admin connection is up (a reconnect also triggers one). */
  requestReconcile(why: string): void {
    if (this.#closed || this.#retry) return;
    this.reconcile().catch((error: Error) => {
      this.#log.warn(
        { why, err: error.message, code: (error as BrokerAdminError).code },
        "broker reconciliation failed",
      );
      if (this.#closed || !this.#control.connected) return;
      this.#retry = setTimeout(() => {
        this.#retry = undefined;
        this.requestReconcile(why);
      }, RECONCILE_RETRY_MS);
      this.#retry.unref();
    });
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#retry);
    this.#deadlines.clear();
  }

  /** Current members (by the one rule of membership-standing.ts) and their live sessions among them. */
  async #desiredState(): Promise<DesiredState> {
    const now = this.#ctx.now();
    const current = new Set<string>();
    for (const member of this.#ctx.members.list())
      if (await isCurrentMember(this.#ctx, member.deviceId)) current.add(member.deviceId);
    const members: DesiredMember[] = [];
    for (const deviceIdHex of current) {
      members.push({
        deviceIdHex,
        password: brokerPassword(this.#ctx.members.getByDevice(deviceIdHex)!.membership),
        peers: this.#livePeers(deviceIdHex, now).filter((p) => current.has(p)),
      });
    }
    return {
      clusterId: this.#ctx.config.clusterId,
      prefix: this.#ctx.config.topicPrefix,
      head: { password: this.#options.headPassword, resetPassword: !this.#options.headConnected() },
      members,
    };
  }

  #livePeers(deviceId: string, now: number): string[] {
    return this.#ctx.sessions
      .liveSessionsOf(deviceId, now)
      .map((s) => (s.initiator === deviceId ? s.responder : s.initiator))
      .filter((peer) => (this.#ctx.members.getByDevice(peer)?.expiresAt ?? 0) > now);
  }

  #aclsOf(deviceId: string): Acl[] {
    const { topicPrefix, clusterId } = this.#ctx.config;
    return memberRoleAcls(topicPrefix, clusterId, deviceId, this.#livePeers(deviceId, this.#ctx.now()));
  }

  /** Creates the member's role and client, or (a join again) repairs them and sets the new password. */
  async #ensureMember(deviceId: string, password: string): Promise<void> {
    const { topicPrefix, clusterId } = this.#ctx.config;
    const rolename = memberRoleName(clusterId, deviceId);
    const wanted = this.#aclsOf(deviceId);
    const member: DesiredMember = { deviceIdHex: deviceId, password, peers: [] };
    const create = memberCreateCommands(topicPrefix, clusterId, member);
    create[0] = { ...create[0]!, acls: wanted };
    const [role, client] = await this.#control.runOk(create, isPresent);
    const repairs: DynsecCommand[] = [];
    if (role!.error !== undefined) {
      const [got] = await this.#control.runOk([{ command: "getRole", rolename }]);
      const acls = ((got!.data as { role?: { acls?: Acl[] } })?.role?.acls ?? []).map((a) => ({
        acltype: a.acltype,
        topic: a.topic,
        allow: a.allow,
      }));
      repairs.push(...roleAclFixes(rolename, acls, wanted).commands);
    }
    if (client!.error !== undefined) {
      // Mosquitto disconnects a client whose password changes: the device reconnects with its new one.
      repairs.push({ command: "setClientPassword", username: deviceId, password });
      const [got] = await this.#control.runOk([{ command: "getClient", username: deviceId }]);
      const existing = (got!.data as { client?: { clientid?: string; roles?: { rolename: string }[] } })
        ?.client;
      if (!(existing?.roles ?? []).some((r) => r.rolename === rolename))
        repairs.push({ command: "addClientRole", username: deviceId, rolename });
      if (existing?.clientid !== deviceId)
        repairs.push({ command: "setClientId", username: deviceId, clientid: deviceId });
    }
    await this.#control.runOk(repairs);
  }

  async #deleteMember(deviceId: string, peers: readonly string[]): Promise<void> {
    const { topicPrefix, clusterId } = this.#ctx.config;
    const inbox = sessionAcl(topicPrefix, clusterId, deviceId).topic;
    await this.#control.runOk(
      [
        ...memberDeleteCommands(clusterId, deviceId),
        ...[...new Set(peers)].map((peer) => ({
          command: "removeRoleACL",
          rolename: memberRoleName(clusterId, peer),
          acltype: "publishClientSend",
          topic: inbox,
        })),
      ],
      isMissing,
    );
  }

  async #addSessionAcls(a: string, b: string): Promise<void> {
    const { topicPrefix, clusterId } = this.#ctx.config;
    await this.#control.runOk(
      [
        {
          command: "addRoleACL",
          rolename: memberRoleName(clusterId, a),
          ...sessionAcl(topicPrefix, clusterId, b),
        },
        {
          command: "addRoleACL",
          rolename: memberRoleName(clusterId, b),
          ...sessionAcl(topicPrefix, clusterId, a),
        },
      ],
      isPresent,
    );
  }

  async #removeSessionAcls(a: string, b: string): Promise<void> {
    const { topicPrefix, clusterId } = this.#ctx.config;
    const remove = (from: string, to: string): DynsecCommand => ({
      command: "removeRoleACL",
      rolename: memberRoleName(clusterId, from),
      acltype: "publishClientSend",
      topic: sessionAcl(topicPrefix, clusterId, to).topic,
    });
    await this.#control.runOk([remove(a, b), remove(b, a)], isMissing);
  }

  async #memberDeadline(deviceId: string): Promise<void> {
    await this.membershipEnded(deviceId, this.#livePeersAll(deviceId));
  }

  /** Peers of `deviceId`'s live sessions, whatever their own standing (their ACLs name its inbox). */
  #livePeersAll(deviceId: string): string[] {
    return this.#ctx.sessions
      .liveSessionsOf(deviceId, this.#ctx.now())
      .map((s) => (s.initiator === deviceId ? s.responder : s.initiator));
  }

  async #sessionDeadline(a: string, b: string): Promise<void> {
    await this.#locks.run([a, b], () =>
      this.#bestEffort("end session", async () => {
        if (!this.#ctx.sessions.haveSession(a, b, this.#ctx.now())) await this.#removeSessionAcls(a, b);
      }),
    );
  }

  /** Runs a change a join or grant depends on; a failure becomes the client's retryable refusal. */
  async #tell(what: string, change: () => Promise<void>): Promise<void> {
    try {
      await change();
    } catch (error) {
      if (!(error instanceof BrokerAdminError)) throw error;
      this.#log.warn({ what, code: error.code, err: error.message }, "the broker did not take a change");
      if (error.code !== "E_BROKER_ADMIN_UNAVAILABLE") this.requestReconcile(what);
      throw new HeadError("E_BROKER_ADMIN_UNAVAILABLE", "the MQTT broker could not be updated; retry later", {
        reason: error.code,
      });
    }
  }

  /** Runs a change nothing waits on; a failure is logged and left to the next reconciliation. */
  async #bestEffort(what: string, change: () => Promise<void>): Promise<void> {
    try {
      await change();
    } catch (error) {
      this.#log.warn(
        { what, code: (error as BrokerAdminError).code, err: (error as Error).message },
        "broker change failed: left to the next reconciliation",
      );
      this.requestReconcile(what);
    }
  }

  #schedule(key: string, at: number, run: () => Promise<void>): void {
    if (this.#closed) return;
    const existing = this.#deadlines.get(key);
    this.#deadlines.set(key, { at: Math.max(at, existing?.at ?? at), run });
    this.#arm();
  }

  #arm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#closed || this.#deadlines.size === 0) return;
    let next = Infinity;
    for (const { at } of this.#deadlines.values()) next = Math.min(next, at);
    const delay = Math.min(Math.max(next - this.#ctx.now(), 0), MAX_TIMER_MS);
    this.#timer = setTimeout(() => this.#fire(), delay);
    this.#timer.unref();
  }

  #fire(): void {
    const now = this.#ctx.now();
    const due = [...this.#deadlines].filter(([, d]) => d.at <= now);
    for (const [key] of due) this.#deadlines.delete(key);
    for (const [, d] of due) void d.run();
    this.#arm();
  }
}
