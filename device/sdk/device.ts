/**
 * The device SDK: one {@link Device} per data directory. It keeps its identity, pinned head,
 * membership, sessions, pending grant nonces and sequence reservations in level (secrets wrapped,
 * see store/secret-box.ts), talks REST to the cluster head and MQTT to its peers, and uses the
 * protocol core for every byte (docs/device.md).
 *
 * The head is trusted only through the chain (the `registry` option) or the operator's
 * `headAddress`, never through what `/health` says (docs/device.md § Head pinning).
 *
 * @example
 * const registry = { rpcUrl: "http://127.0.0.1:8545", address: deployment.address };
 * const device = await Device.open(".data/device", { passphrase, registry });
 * if (!device.initialised) await device.init();
 * await device.join("http://127.0.0.1:8080", { position: { lat: 0, lon: 0 } });
 * await device.connect();
 * device.on("message", ({ from, data }) => console.log(from, new TextDecoder().decode(data)));
 * await device.send(peerId, new TextEncoder().encode("hello"));
 */
import { EventEmitter } from "node:events";
import {
  brokerPassword,
  finishJoin,
  fromHex,
  type JoinSuite,
  type JoinSuiteName,
  joinSuiteName,
  type Membership,
  parseJoinSuites,
  type Position,
  signEnrollmentProof,
  startJoin,
  toHex,
} from "../../protocol";
import { useNativeSymmetric } from "../../platform/sodium-symmetric-backend";
import { type BrokerTls, isDeviceIdHex, redactBrokerUrl } from "../../transport/mqtt";
import { DeviceError } from "./errors";
import type { DeviceEvents, DeviceStats } from "./events";
import { type EnrollmentRequest, HeadClient } from "./head-client";
import { MqttLink } from "./mqtt-link";
import { type RotationPolicy, SessionManager } from "./session-manager";
import { DeviceDatabase } from "./store/database";
import { HeadPinStore } from "./store/head-pin-store";
import { type DeviceIdentity, IdentityStore } from "./store/identity-store";
import { MembershipStore } from "./store/membership-store";
import {
  deviceBrokerUrl,
  type HeadSource,
  type PinnedHead,
  pinnedBrokerUrl,
  trustAnchor,
  trustedHead,
} from "./head-trust";
import type { RegistryAnchor } from "./registry-reader";
import { PendingStore } from "./store/pending-store";
import { SecretBox } from "./store/secret-box";
import { LevelSequenceStore } from "./store/sequence-store";
import { SessionStore } from "./store/session-store";

export const DEFAULT_TOPIC_PREFIX = "iotguard";
export type { HeadSource, PinnedHead };

/** Options of {@link Device.open}. */
export interface DeviceOptions {
  /** Protects the stored secrets (scrypt + XChaCha20-Poly1305). Without it: a 0600 key file. */
  passphrase?: string;
  /** Clock (unix ms); default Date.now. */
  now?: () => number;
  /** How long {@link Device.openSession} waits for the peer's Grant; default 10 s. */
  grantTimeoutMs?: number;
  /** Sequence reservation block K; default 1024 (OSCORE B.1). */
  sequenceBlock?: bigint;
  /**
   * When session keys are rotated (docs/device.md § Key rotation): after `maxMessages` frames or
   * `maxAgeMs`, drained for `drainMs`. Defaults from the AEAD usage limits; lower them for tests.
   */
  rotation?: RotationPolicy;
  /**
   * PEM of the CA that issued the head's HTTPS certificate (or the head's self-signed
   * certificate): the only root trusted for the head's `https:` URL (`HeadClientOptions.ca`).
   */
  headCa?: string;
  /**
   * For an `mqtts://` broker: the PEM of the CA that issued its certificate (the only root then
   * trusted for it; without it, Node's public roots) and, when the broker requires one, a client
   * certificate and key. The certificate must name the broker URL's host.
   */
  brokerTls?: BrokerTls;
  /**
   * Connect to a plaintext `mqtt://` broker that is not on loopback; default false, because the
   * broker credential and every topic name would cross the network in clear (`E_PLAINTEXT_BROKER`).
   */
  allowPlainMqtt?: boolean;
  /**
   * The DeviceRegistry to learn the head from (trust anchor): at every pin and join the device
   * reads `getDevice(deviceId).clusterId`, then `getCluster(clusterId).head`, and follows it.
   */
  registry?: RegistryAnchor;
  /**
   * Switch this process's symmetric primitives to node:crypto, with libsodium's ChaCha20-Poly1305
   * where its binding loads ({@link useNativeSymmetric}), when the device opens: the same bytes as
   * the pure-JavaScript @noble default, several times faster per frame. Default true; false keeps
   * whatever backend the process uses.
   */
  nativeCrypto?: boolean;
}

let nativeCryptoChosen = false;

/**
 * {@link useNativeSymmetric} the first time a device opens with `nativeCrypto`: the backend is the
 * process's, and loading the binding (with its known-answer check) once is enough.
 */
function useNativeCryptoOnce(): void {
  if (nativeCryptoChosen) return;
  useNativeSymmetric();
  nativeCryptoChosen = true;
}

/** Where and how to reach the head, for {@link Device.pinHead}, {@link Device.join}, {@link Device.enroll}. */
export interface HeadOptions {
  /**
   * The head address given by the operator (0x…), a trust anchor when there is no `registry`;
   * with one, it must equal the chain's.
   */
  headAddress?: string;
  /** Topic prefix the head uses; default `iotguard` (or the pinned one). */
  topicPrefix?: string;
  /**
   * The broker URL given by the operator; default: the broker port the head reports, on the head
   * URL's own host. Userinfo (someone else's credential) is dropped: the device sends its own.
   */
  brokerUrl?: string;
}

/**
 * The join suites a device offers unless told otherwise: hybrid (ML-KEM-768 + ECDH, keeps K_m
 * secret against a future quantum attacker) preferred by the head's default policy, classic allowed.
 */
export const DEFAULT_DEVICE_JOIN_SUITES: readonly JoinSuiteName[] = ["hybrid", "classic"];

/** Options of {@link Device.join}. */
export interface JoinOptions extends HeadOptions {
  position: Position;
  /**
   * The join suites to offer (docs/protocol.md § Join suites); default
   * {@link DEFAULT_DEVICE_JOIN_SUITES}. Pin a device with `["hybrid"]` (it then refuses a head
   * that would only join classically) or `["classic"]` (a head from before the hybrid suite).
   */
  joinSuites?: readonly JoinSuiteName[];
}

/** What a join returns. */
export interface JoinResult {
  clusterId: number;
  expiresAt: number;
  /** The join suite the head chose from the offer (`hybrid` or `classic`). */
  suite: JoinSuiteName;
  /** The head that signed the JoinResponse (0x…), and where its address came from. */
  headAddress: string;
  headSource: HeadSource;
}

/** What `status()` reports. Never secrets. */
export interface DeviceStatus {
  deviceId: string;
  keyAddress: string;
  keyProtection: "passphrase" | "keyfile";
  head?: PinnedHead;
  membership?: { kid: string; joinedAt: number; expiresAt: number; current: boolean };
  sessions: { peerId: string; sessionId: string; role: number; expiresAt: number }[];
  connected: boolean;
  stats: DeviceStats;
}

export class Device extends EventEmitter<DeviceEvents> {
  #identity: DeviceIdentity | undefined;
  #box: SecretBox | undefined;
  #link: MqttLink | undefined;
  #manager: SessionManager | undefined;
  #membership: Membership | undefined;
  #closed = false;
  readonly #pins: HeadPinStore;
  readonly #identities: IdentityStore;
  readonly #now: () => number;

  private constructor(
    readonly dataDir: string,
    private readonly db: DeviceDatabase,
    private readonly options: DeviceOptions,
  ) {
    super();
    this.#pins = new HeadPinStore(db);
    this.#identities = new IdentityStore(db);
    this.#now = options.now ?? Date.now;
  }

  /**
   * Opens the device in `dataDir` (created when missing). When it holds an identity, the stored
   * keys are opened with `options.passphrase`.
   * @throws DeviceError E_STORAGE, E_BAD_PASSPHRASE
   */
  static async open(dataDir: string, options: DeviceOptions = {}): Promise<Device> {
    if (options.nativeCrypto !== false) useNativeCryptoOnce();
    const db = await DeviceDatabase.open(dataDir);
    const device = new Device(dataDir, db, options);
    try {
      const kdf = await device.#identities.kdf();
      if (kdf) {
        device.#box = await SecretBox.open(dataDir, kdf, options.passphrase);
        device.#identity = await device.#identities.load(device.#box);
      }
    } catch (error) {
      await db.close();
      throw error;
    }
    return device;
  }

  /** True once {@link init} has created an identity. */
  get initialised(): boolean {
    return this.#identity !== undefined;
  }

  /** Creates the identity. @throws DeviceError E_ALREADY_INITIALISED */
  async init(): Promise<{ deviceId: string; keyAddress: string }> {
    if (this.#identity)
      throw new DeviceError("E_ALREADY_INITIALISED", `${this.dataDir} already holds device ${this.deviceId}`);
    const kdf = SecretBox.newKdf(this.options.passphrase);
    this.#box = await SecretBox.open(this.dataDir, kdf, this.options.passphrase);
    this.#identity = await this.#identities.create(kdf, this.#box, this.#now());
    return { deviceId: this.deviceId, keyAddress: this.keyAddress };
  }

  /** Device ID, 64 lowercase hex. */
  get deviceId(): string {
    return this.#id().deviceIdHex;
  }

  /** Address of the device key, 0x-prefixed. */
  get keyAddress(): string {
    return `0x${toHex(this.#id().identity.address)}`;
  }

  /** Traffic counters. */
  get stats(): DeviceStats {
    return this.#manager ? { ...this.#manager.stats } : { sent: 0, received: 0, replayed: 0, refused: 0 };
  }

  #id(): DeviceIdentity {
    if (!this.#identity)
      throw new DeviceError(
        "E_NOT_INITIALISED",
        `no identity in ${this.dataDir}: run \`iotguard device init\``,
      );
    return this.#identity;
  }

  #secrets(): SecretBox {
    this.#id();
    return this.#box!;
  }

  /**
   * The body an operator posts to `POST /v1/devices`: device ID, key address and a proof of
   * possession for `clusterId` (default: the pinned head's cluster).
   */
  async enrollmentRequest(clusterId?: number): Promise<EnrollmentRequest> {
    const id = this.#id();
    const cluster = clusterId ?? (await this.#pins.get())?.clusterId;
    if (cluster === undefined)
      throw new DeviceError("E_NO_HEAD", "no cluster ID: pin a head first or pass clusterId");
    const proof = signEnrollmentProof(id.identity.secretKey, {
      clusterId: cluster,
      deviceId: id.deviceId,
      keyAddress: id.identity.address,
      keyVersion: 0,
    });
    return { deviceId: id.deviceIdHex, keyAddress: this.keyAddress, proof: `0x${toHex(proof)}` };
  }

  /**
   * Verifies the head at `headUrl` and pins it. Its address and cluster come from the chain (the
   * `registry` option: the device follows the chain, so a head replaced on chain replaces the
   * pin), from `o.headAddress`, or from an earlier verified pin — never from `/health`, whose
   * answer only has to agree. The broker URL is pinned with it (see {@link HeadOptions.brokerUrl}).
   * A device not enrolled yet is pinned to the on-chain head of the cluster `/health` names.
   * @throws DeviceError E_NO_TRUST_ANCHOR, E_HEAD_MISMATCH, E_CHAIN_UNREACHABLE, E_NO_HEAD,
   *   E_HEAD_UNREACHABLE, E_BAD_ARGUMENT
   */
  pinHead(headUrl: string, o: HeadOptions = {}): Promise<PinnedHead> {
    return this.#pinHead(headUrl, o, false);
  }

  /** A client for the head at `url`, pinning `ca` (by default {@link DeviceOptions.headCa}) when given. */
  #headClient(url: string, ca: string | undefined = this.options.headCa): HeadClient {
    return new HeadClient(url, ca === undefined ? {} : { ca });
  }

  async #pinHead(headUrl: string, o: HeadOptions, mustBeEnrolled: boolean): Promise<PinnedHead> {
    const id = this.#id();
    const pinned = await this.#pinned();
    const anchor = trustAnchor(this.options.registry, o.headAddress, pinned);
    // The CA given now, else the one pinned with the head before.
    const ca = this.options.headCa ?? pinned?.headCa;
    const client = this.#headClient(headUrl, ca);
    const health = await client.health();
    const expected = await trustedHead(anchor, id.deviceIdHex, health, client.url, mustBeEnrolled);
    const pin: PinnedHead = {
      headAddress: expected.headAddress,
      clusterId: expected.clusterId,
      headUrl: client.url,
      brokerUrl: pinnedBrokerUrl(client.url, health.broker.url, o.brokerUrl),
      topicPrefix: o.topicPrefix ?? pinned?.topicPrefix ?? health.broker.topicPrefix ?? DEFAULT_TOPIC_PREFIX,
      source: expected.source,
      pinnedAt: anchor.pin?.headAddress === expected.headAddress ? anchor.pin.pinnedAt : this.#now(),
      ...(ca === undefined ? {} : { headCa: ca }),
    };
    await this.#pins.put(pin);
    return pin;
  }

  async #pinned(): Promise<PinnedHead | undefined> {
    return this.#pins.get();
  }

  /**
   * Operator convenience: verify and pin the head ({@link pinHead}), then enroll this device with
   * the operator token.
   * @throws DeviceError E_HEAD_REFUSED (e.g. E_ALREADY_ENROLLED, E_UNAUTHORIZED), E_HEAD_UNREACHABLE,
   *   and those of {@link pinHead}
   */
  async enroll(
    headUrl: string,
    adminToken: string,
    o: HeadOptions = {},
  ): Promise<{ transactionHash: string; blockNumber: number }> {
    const pin = await this.#pinHead(headUrl, o, false);
    return this.#headClient(pin.headUrl, pin.headCa).enroll(
      await this.enrollmentRequest(pin.clusterId),
      adminToken,
    );
  }

  /**
   * Joins the cluster: verifies and pins the head ({@link pinHead}; with a registry the device must
   * be enrolled on chain), then challenge, signed JoinRequest, and the head's signed JoinResponse
   * verified against that address; K_m stored. Offers the hybrid and classic join suites unless
   * `o.joinSuites` says otherwise; the result names the suite the head chose. Emits `joined`.
   * @throws DeviceError E_HEAD_REFUSED (E_NOT_MEMBER, E_REVOKED, E_OUTSIDE_RADIUS, E_SUITE_REFUSED,
   *   ...), E_BAD_ARGUMENT (unknown join suite), and those of {@link pinHead}
   */
  async join(headUrl: string | undefined, o: JoinOptions): Promise<JoinResult> {
    const id = this.#id();
    let suites: JoinSuite[];
    try {
      suites = parseJoinSuites((o.joinSuites ?? DEFAULT_DEVICE_JOIN_SUITES).join(","));
    } catch (error) {
      throw new DeviceError("E_BAD_ARGUMENT", `joinSuites: ${(error as Error).message}`);
    }
    const url = headUrl ?? (await this.#pinned())?.headUrl;
    if (!url) throw new DeviceError("E_NO_HEAD", "no head URL given and none pinned");
    const pin = await this.#pinHead(url, o, true);
    const client = this.#headClient(pin.headUrl, pin.headCa);
    const { request, state } = startJoin({
      challengeMessage: await client.joinChallenge(),
      clusterId: pin.clusterId,
      // docs/protocol.md §1: the JoinResponse must verify against this address, from the chain or the operator.
      headAddress: fromHex(pin.headAddress),
      deviceId: id.deviceId,
      deviceSecretKey: id.identity.secretKey,
      position: o.position,
      suites,
    });
    const response = await client.join(request);
    let membership: Membership;
    try {
      membership = finishJoin(response, state, this.#now());
    } catch (error) {
      throw new DeviceError(
        "E_HEAD_REFUSED",
        `the head's join response did not verify: ${(error as Error).message}`,
        {
          headCode: (error as { code?: string }).code ?? "E_BAD_SIGNATURE",
        },
      );
    }
    await new MembershipStore(this.db, this.#secrets()).put(membership, this.#now());
    const previous = this.#membership;
    this.#membership = membership;
    if (this.#link) await this.#reconnectWithNewMembership();
    if (previous !== undefined && previous !== membership) previous.memberKey.fill(0);
    this.emit("joined", { clusterId: pin.clusterId, expiresAt: membership.expiresAt });
    return {
      expiresAt: membership.expiresAt,
      clusterId: pin.clusterId,
      suite: joinSuiteName(state.suite as NonNullable<typeof state.suite>),
      headAddress: pin.headAddress,
      headSource: pin.source,
    };
  }

  /**
   * Connects to the broker with the credential derived from K_m, restores stored sessions and
   * starts handling inbox, warn and ctl traffic. A plaintext broker URL off loopback is refused
   * unless {@link DeviceOptions.allowPlainMqtt}; an `mqtts://` one uses {@link DeviceOptions.brokerTls}.
   * @throws DeviceError E_NOT_JOINED, E_BROKER_UNREACHABLE, E_BROKER_REFUSED, E_PLAINTEXT_BROKER,
   *   E_BROKER_TLS
   */
  async connect(o: { brokerUrl?: string } = {}): Promise<void> {
    if (this.#link) return;
    const id = this.#id();
    const pin = await this.#pins.get();
    if (!pin) throw new DeviceError("E_NO_HEAD", "no pinned head: join first");
    const membership = this.#membership ?? (await new MembershipStore(this.db, this.#secrets()).get());
    if (!membership || membership.expiresAt <= this.#now())
      throw new DeviceError("E_NOT_JOINED", "no current membership: run `iotguard device join`");
    this.#membership = membership;
    const sessions = new SessionStore(this.db, this.#secrets());
    const manager = new SessionManager({
      clusterId: pin.clusterId,
      membership,
      head: this.#headClient(pin.headUrl, pin.headCa),
      sendTo: (peer, message) => this.#requireLink().sendTo(peer, message),
      sendEnvelope: (peer, envelope) => this.#requireLink().sendEnvelope(peer, envelope),
      sendSetup: (peer, message) => this.#requireLink().sendSetup(peer, message),
      sessions,
      pending: new PendingStore(this.db),
      sequences: new LevelSequenceStore(this.db),
      emit: (event, ...args) => this.#emit(event, ...args),
      now: this.#now,
      grantTimeoutMs: this.options.grantTimeoutMs ?? 10_000,
      ...(this.options.sequenceBlock === undefined ? {} : { sequenceBlock: this.options.sequenceBlock }),
      ...(this.options.rotation === undefined ? {} : { rotation: this.options.rotation }),
    });
    await manager.restore();
    this.#manager = manager;
    const link = await MqttLink.connect(
      {
        // Pins written by earlier versions may hold the head's userinfo: never send or show it.
        brokerUrl: deviceBrokerUrl(o.brokerUrl ?? pin.brokerUrl, "brokerUrl"),
        topicPrefix: pin.topicPrefix,
        clusterId: pin.clusterId,
        deviceId: id.deviceId,
        deviceIdHex: id.deviceIdHex,
        password: brokerPassword(membership),
        ...(this.options.brokerTls ? { tls: this.options.brokerTls } : {}),
        ...(this.options.allowPlainMqtt ? { allowPlainMqtt: true } : {}),
        // Frames waiting for their floor write hold the broker's next messages, not drop them.
        holdIncomingWhile: () => manager.inboundBacklog(),
      },
      (l) => {
        // Before the first message: the broker sends what it queued for us right after the CONNACK.
        l.on("inbox", (envelope) => manager.handleInbox(envelope));
        l.on("ctl", (message) => manager.handleControl(message));
        l.on("warn", (message) => manager.handleWarning(message));
      },
    ).catch(async (error: unknown) => {
      throw error instanceof DeviceError && error.code === "E_BROKER_REFUSED"
        ? new DeviceError(
            "E_BROKER_REFUSED",
            await this.#whyRefused(this.#headClient(pin.headUrl, pin.headCa), id.deviceIdHex),
            { cause: error },
          )
        : error;
    });
    link.on("refused", (error) =>
      this.#emit("membership-ended", {
        reason: `the broker refused our credential (${error.message}): join again`,
      }),
    );
    this.#link = link;
  }

  /**
   * A join while connected replaced the broker credential and K_m: an administered Mosquitto has
   * dropped the connection that used the old credential (`setClientPassword`), and the embedded
   * broker would refuse its next reconnect. So the link and the session manager (which MACs with
   * K_m) start again with the new membership; stored sessions are restored.
   */
  async #reconnectWithNewMembership(): Promise<void> {
    const [link, manager] = [this.#link, this.#manager];
    this.#link = undefined;
    this.#manager = undefined;
    // Its refusal of the old credential is expected now, not a membership that ended.
    link?.removeAllListeners();
    await manager?.close();
    await link?.close();
    await this.connect();
  }

  /**
   * What to do after the broker refused our credential: our membership ended. Joining again helps
   * unless the registry revoked this device, which the head's public device record tells.
   */
  async #whyRefused(head: HeadClient, deviceIdHex: string): Promise<string> {
    const record = await head.device(deviceIdHex).catch(() => undefined);
    if (record?.status === "revoked")
      return "the broker refused our credential: this device is revoked on chain and can never join again; the operator enrolls a new device ID";
    return "the broker refused our credential: our membership ended (expired, re-keyed or replaced); join again (`iotguard device join`)";
  }

  #requireLink(): MqttLink {
    if (!this.#link) throw new DeviceError("E_NOT_JOINED", "not connected: call connect() first");
    return this.#link;
  }

  #requireManager(): SessionManager {
    if (this.#closed) throw new DeviceError("E_CLOSED", "the device was closed");
    if (!this.#manager || !this.#link)
      throw new DeviceError("E_NOT_JOINED", "not connected: call connect() first");
    return this.#manager;
  }

  /** 'error' without a listener would throw from inside MQTT callbacks: only emit it when heard. */
  #emit<K extends keyof DeviceEvents>(event: K, ...args: DeviceEvents[K]): void {
    if (event === "error" && this.listenerCount("error") === 0) return;
    (this.emit as (e: K, ...a: DeviceEvents[K]) => boolean)(event, ...args);
  }

  /**
   * Opens a session with `peerId` (64 hex) as initiator; resolves when our Grant is accepted and
   * frames can flow.
   * @throws DeviceError E_PEER_TIMEOUT, E_BAD_ARGUMENT
   */
  async openSession(peerId: string): Promise<{ sessionId: string; expiresAt: number }> {
    const peer = checkPeer(peerId, this.deviceId);
    const s = await this.#requireManager().openSession(peer);
    return { sessionId: s.sessionId, expiresAt: s.expiresAt };
  }

  /**
   * Encrypts and publishes `data` to `peerId`, opening or re-granting the session when needed.
   * @returns the sequence number used
   */
  send(peerId: string, data: Uint8Array | string): Promise<bigint> {
    const peer = checkPeer(peerId, this.deviceId);
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    return this.#requireManager().send(peer, bytes);
  }

  /** Resolves when every inbound message received so far has been handled. */
  async idle(): Promise<void> {
    await this.#manager?.idle();
  }

  /** Identity, pinned head, membership and sessions, without any secret. */
  async status(): Promise<DeviceStatus> {
    const id = this.#id();
    const kdf = await this.#identities.kdf();
    const membership = await new MembershipStore(this.db, this.#secrets()).get();
    membership?.memberKey.fill(0);
    const pinned = await this.#pinned();
    const head = pinned ? { ...pinned, brokerUrl: redactBrokerUrl(pinned.brokerUrl) } : undefined;
    const sessions = await new SessionStore(this.db, this.#secrets()).summaries();
    return {
      deviceId: id.deviceIdHex,
      keyAddress: this.keyAddress,
      keyProtection: kdf?.kind === "scrypt" ? "passphrase" : "keyfile",
      ...(head ? { head } : {}),
      ...(membership
        ? {
            membership: {
              kid: toHex(membership.kid),
              joinedAt: membership.joinedAt,
              expiresAt: membership.expiresAt,
              current: membership.expiresAt > this.#now(),
            },
          }
        : {}),
      sessions: sessions.map((s) => ({
        peerId: s.peerId,
        sessionId: s.sessionId,
        role: s.role,
        expiresAt: s.expiresAt,
      })),
      connected: this.#link?.connected ?? false,
      stats: this.stats,
    };
  }

  /** Disconnects, wipes keys held in memory and closes the database. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#manager?.close();
    await this.#link?.close();
    this.#membership?.memberKey.fill(0);
    this.#identity?.identity.secretKey.fill(0);
    this.#box?.close();
    await this.db.close();
  }
}

function checkPeer(peerId: string, self: string): string {
  const peer = typeof peerId === "string" ? peerId.toLowerCase().replace(/^0x/, "") : "";
  if (!isDeviceIdHex(peer)) throw new DeviceError("E_BAD_ARGUMENT", "peerId: expected a 64-hex device ID");
  if (peer === self) throw new DeviceError("E_BAD_ARGUMENT", "peerId: that is this device");
  return peer;
}
