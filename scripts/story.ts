/**
 * `npm start`: the whole used-by story on embedded defaults, each step a line with its timing.
 *
 * A local chain, the registry deployed with the deploy script's code, a cluster head with its
 * embedded broker, two devices enrolled through the REST API, reading their head from the chain
 * (a head of another cluster is refused), joined with the hybrid (ML-KEM-768 + ECDH) join suite,
 * granted a one-time session key and talking both ways; then the refusals that matter. Nothing
 * needs to be installed or running; every port is a free one; everything lives in a temp
 * directory removed at the end.
 *
 * `npm start -- --keep` leaves the chain, the head and its operator dashboard running after the
 * story (the token is in a 0600 file, never printed) until Ctrl-C, so a person can look.
 *
 * `npm start -- --broker mosquitto` tells the same story on the production broker set-up
 * (docs/mqtt.md § Mosquitto): a private Mosquitto with dynamic security, reached over TLS only,
 * administered by the head (scripts/lib/story-mosquitto.ts); it says how to install Mosquitto
 * when it is missing.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NonceManager, Wallet } from "ethers";
import pino from "pino";
import { Device, type DeviceEvents, isDeviceError } from "../device/sdk";
import { useNodeCrypto } from "../platform/node-symmetric-backend";
import { createSessionRequest, toHex } from "../protocol";
import { makeProvider } from "../chain/registry-contract";
import { loadConfig } from "../services/cluster-head/config";
import { type RunningHead, startClusterHead } from "../services/cluster-head/head";
import { readAdminCredential } from "../services/cluster-head/broker/dynsec/admin-credential";
import { DynsecControlClient } from "../services/cluster-head/broker/dynsec/control-client";
import { readBrokerState } from "../services/cluster-head/broker/dynsec/reconciler";
import { encodeEnvelope, inboxTopic, MqttTransport, redactBrokerUrl } from "../transport/mqtt";
import { deployRegistry } from "../chain/deploy-registry";
import { writeDeployment } from "../chain/deployment-file";
import { HARDHAT_DEV_ACCOUNT_0_KEY } from "../chain/local-development";
import { type LocalNode, startLocalNode } from "../chain/local-node";
import { tellTelemetry } from "./lib/story-telemetry";
import {
  missingForMosquitto,
  MOSQUITTO_INSTALL_HINT,
  type StoryMosquitto,
  startStoryMosquitto,
} from "./lib/story-mosquitto";

const POSITION = { lat: 52_520_000, lon: 13_405_000 };
/** `--keep`: leave the head (and its dashboard) running after the story, until Ctrl-C. */
const KEEP = process.argv.includes("--keep");
/** `--broker embedded` (default) or `--broker mosquitto`. */
const BROKER = process.argv.includes("--broker")
  ? process.argv[process.argv.indexOf("--broker") + 1]
  : "embedded";
const started = performance.now();
let stepStarted = started;

function line(symbol: string, step: string, text: string): void {
  const now = performance.now();
  const total = ((now - started) / 1000).toFixed(1).padStart(5);
  const took = `${Math.round(now - stepStarted)} ms`.padStart(8);
  console.log(`[${total}s] ${symbol} ${step.padEnd(11)} ${text}  (${took.trim()})`);
  stepStarted = now;
}
const ok = (step: string, text: string) => line("✓", step, text);
// An attack or a misuse that was refused, as it must be: a success of the story, not a failure.
const refused = (step: string, text: string) => line("⊘", step, text);
const short = (hex: string) => `${hex.slice(0, 8)}…`;

/** Resolves with the first event `name` that `match` accepts, or fails after `ms`. */
function nextEvent<K extends "message" | "warning" | "peer-ended">(
  emitter: Device,
  name: K,
  match: (e: DeviceEvents[K][0]) => boolean,
  ms = 10_000,
): Promise<DeviceEvents[K][0]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${name} event within ${ms} ms`)), ms);
    const listener = (...args: DeviceEvents[K]) => {
      const [event] = args;
      if (!match(event)) return;
      clearTimeout(timer);
      // Node types the listener through a conditional type TypeScript cannot resolve for a generic K.
      emitter.off(name, listener as Parameters<Device["off"]>[1]);
      resolve(event);
    };
    emitter.on(name, listener as Parameters<Device["on"]>[1]);
  });
}

async function main(): Promise<void> {
  if (BROKER !== "embedded" && BROKER !== "mosquitto")
    throw new Error(`--broker ${BROKER}: expected embedded or mosquitto`);
  const missing = BROKER === "mosquitto" ? missingForMosquitto() : undefined;
  if (missing) throw new Error(`--broker mosquitto: ${missing}; ${MOSQUITTO_INSTALL_HINT}`);
  useNodeCrypto(); // the devices' symmetric crypto (the head picks its own from its configuration)
  const workDir = mkdtempSync(join(tmpdir(), "iotguard-story-"));
  const cleanups: (() => Promise<unknown> | unknown)[] = [
    () => rmSync(workDir, { recursive: true, force: true }),
  ];
  const stopAll = async () => {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
  };
  process.once("SIGINT", () => void stopAll().then(() => process.exit(130)));

  try {
    // 1. Chain.
    const node: LocalNode = await startLocalNode();
    cleanups.push(() => node.stop());
    ok("chain", `hardhat node on ${node.url} (chain 31337)`);

    // 2. Deploy, with the code `npm run deploy` uses.
    const provider = makeProvider(node.url, 100);
    cleanups.push(() => provider.destroy());
    const deployer = new NonceManager(new Wallet(HARDHAT_DEV_ACCOUNT_0_KEY, provider));
    const deployment = await deployRegistry(deployer, "localhost");
    const deploymentFile = join(workDir, "deployments", "localhost.json");
    writeDeployment(deploymentFile, deployment);
    ok("deploy", `DeviceRegistry at ${deployment.address}, block ${deployment.blockNumber}`);

    // 3. Cluster head with its embedded broker, or administering a private Mosquitto over TLS.
    let mosquitto: StoryMosquitto | undefined;
    if (BROKER === "mosquitto") {
      mosquitto = await startStoryMosquitto();
      cleanups.push(() => mosquitto?.stop());
      ok(
        "broker",
        `private Mosquitto (pid ${mosquitto.pid}) on ${mosquitto.url}: TLS only, dynamic security, deny by default`,
      );
    }
    const brokerSettings = mosquitto
      ? { brokerUrl: mosquitto.url, brokerCa: mosquitto.caFile, brokerAdminFile: mosquitto.adminFile }
      : { brokerPort: "0" };
    const brokerTls = mosquitto ? { ca: readFileSync(mosquitto.caFile, "utf8") } : undefined;
    const adminToken = toHex(crypto.getRandomValues(new Uint8Array(32)));
    const startHead = (clusterId: string, dataDir: string): Promise<RunningHead> =>
      startClusterHead(
        loadConfig(
          {
            rpcUrl: node.url,
            deploymentFile,
            dataDir: join(workDir, dataDir),
            clusterId,
            port: "0",
            ...brokerSettings,
            pollIntervalMs: "100",
            adminToken,
            latitude: String(POSITION.lat),
            longitude: String(POSITION.lon),
            radius: "500000",
          },
          {},
        ),
        { logger: pino({ level: "silent" }) },
      );
    const head = await startHead("1", "head");
    cleanups.push(() => head.stop());
    ok(
      "head",
      `cluster ${head.clusterId} headed by ${short(head.headAddress)} on ${head.url}, MQTT ${redactBrokerUrl(head.brokerUrl)}`,
    );
    // The operator token goes to a file only the user can read: never to the terminal.
    const tokenFile = join(workDir, "operator-token");
    writeFileSync(tokenFile, `${adminToken}\n`, { mode: 0o600 });
    ok("dashboard", `${head.url}/dashboard/ (operator token in ${tokenFile})`);

    // 4. Two devices, enrolled through the REST API as an operator does it. Each reads its head's
    //    address from the registry (its trust anchor), never from what a head says about itself.
    const registry = { rpcUrl: node.url, address: deployment.address, chainId: deployment.chainId };
    const devices: Device[] = [];
    for (const name of ["m1", "m2"]) {
      const device = await Device.open(join(workDir, name), {
        registry,
        ...(brokerTls ? { brokerTls } : {}),
      });
      cleanups.push(() => device.close());
      await device.init();
      devices.push(device);
    }
    const [m1, m2] = devices as [Device, Device];
    for (const [name, device] of [
      ["m1", m1],
      ["m2", m2],
    ] as const) {
      const response = await fetch(`${head.url}/v1/devices`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${adminToken}` },
        body: JSON.stringify(await device.enrollmentRequest(head.clusterId)),
      });
      const receipt = (await response.json()) as { transactionHash: string; blockNumber: number };
      if (response.status !== 201) throw new Error(`enrolling ${name} failed: ${JSON.stringify(receipt)}`);
      ok(
        "enroll",
        `${name} ${short(device.deviceId)} on chain: tx ${short(receipt.transactionHash)} in block ${receipt.blockNumber}`,
      );
    }

    // 4b. m1 is sent to a head that is not its cluster's on chain (here: cluster 2's genuine head).
    const otherHead = await startHead("2", "head-2");
    cleanups.push(() => otherHead.stop());
    const wrongHead = await m1.join(otherHead.url, { position: POSITION }).then(
      () => "admitted",
      (error: unknown) => (isDeviceError(error) ? error.code : String(error)),
    );
    if (wrongHead === "admitted") throw new Error("m1 joined a head the chain does not name");
    await otherHead.stop();
    refused(
      "wrong head",
      `m1 sent to ${short(otherHead.headAddress)} (cluster 2): the chain names ${short(head.headAddress)}; refused with ${wrongHead}`,
    );

    // 5. Join, session grant, messages both ways.
    for (const [name, device] of [
      ["m1", m1],
      ["m2", m2],
    ] as const) {
      const { expiresAt, suite } = await device.join(head.url, { position: POSITION });
      await device.connect();
      const how = suite === "hybrid" ? "hybrid ML-KEM-768 + ECDH join (post-quantum)" : "classic ECDH join";
      ok(
        "join",
        `${name} mutually authenticated with the head, ${how}; member key until ${new Date(expiresAt).toISOString()}`,
      );
    }
    if (mosquitto) {
      // What the head changed on the broker, as an auditor with the admin credential sees it.
      const auditor = await DynsecControlClient.connect(
        mosquitto.url,
        readAdminCredential(mosquitto.adminFile),
        {
          clientId: `iotguard-story-auditor-${toHex(crypto.getRandomValues(new Uint8Array(4)))}`,
          tls: brokerTls!,
        },
      );
      const state = await readBrokerState(auditor).finally(() => auditor.close());
      const names = state.clients
        .map((c) => c.username)
        // The admin's, and the other cluster's head (step 4b) on the same broker, are not this head's.
        .filter((u) => u !== mosquitto!.admin.username && !/^iotguard-head-(?!1$)/.test(u))
        .map((u) => (u === m1.deviceId ? "m1" : u === m2.deviceId ? "m2" : u))
        .sort();
      const denied = state.defaultAccess.filter((a) => !a.allow).map((a) => a.acltype);
      ok(
        "dynsec",
        `the head created broker clients ${names.join(", ")} with one role each; default access denies ${denied.join(", ")}`,
      );
    }
    const session = await m1.openSession(m2.deviceId);
    ok(
      "grant",
      `m1 asked m2, the head verified both and granted one-time key for session ${short(session.sessionId)}`,
    );
    for (const [from, to, text] of [
      [m1, m2, "hello m2, this is m1"],
      [m2, m1, "hi m1, m2 here"],
      [m1, m2, "temperature 21.4 C"],
    ] as const) {
      const received = nextEvent(to, "message", (e) => e.from === from.deviceId);
      const seq = await from.send(to.deviceId, text);
      const message = await received;
      ok(
        "message",
        `${from === m1 ? "m1 → m2" : "m2 → m1"} "${new TextDecoder().decode(message.data)}" (seq ${seq}, AES-256-GCM)`,
      );
    }

    // 6. Refusals. A compromised broker is played by the embedded broker itself, or on Mosquitto
    //    by an administrator's client that reads everything and by the head's client that may
    //    write into any inbox of the cluster.
    const embedded = head.broker.embedded;
    const prefix = head.context.config.topicPrefix;
    const m2Inbox = inboxTopic(prefix, head.clusterId, m2.deviceId);
    const spy = mosquitto
      ? await MqttTransport.connect(head.brokerUrl, {
          clientId: `iotguard-story-spy-${toHex(crypto.getRandomValues(new Uint8Array(4)))}`,
          username: mosquitto.admin.username,
          password: mosquitto.admin.password,
          clean: true,
          tls: brokerTls!,
        })
      : undefined;
    if (spy) {
      cleanups.push(() => spy.close(true));
      await spy.subscribe([m2Inbox]);
    }
    const inject = (payload: Uint8Array): Promise<void> =>
      !embedded
        ? head.broker.client.publish(m2Inbox, payload)
        : new Promise<void>((resolve, reject) =>
            embedded.broker.publish(
              {
                cmd: "publish",
                topic: m2Inbox,
                payload: Buffer.from(payload),
                qos: 1,
                retain: false,
                dup: false,
                messageId: 0,
              },
              (error?: Error) => (error ? reject(error) : resolve()),
            ),
          );

    // 6a. An unenrolled intruder: the broker will not let it in, and its session request,
    //     slipped into m2's inbox by a compromised broker, earns m2 the head's warning.
    const intruderId = crypto.getRandomValues(new Uint8Array(32));
    const intruderHex = toHex(intruderId);
    const connect = await MqttTransport.connect(head.brokerUrl, {
      clientId: intruderHex,
      username: intruderHex,
      password: "guess",
      clean: true,
      reconnectPeriodMs: 0,
      ...(brokerTls ? { tls: brokerTls } : {}),
    }).then(
      async (t) => {
        await t.close(true);
        return "admitted";
      },
      (error: { code?: string }) => error.code ?? "refused",
    );
    if (connect === "admitted") throw new Error("the broker admitted an unenrolled intruder");
    refused("intruder", `unenrolled device ${short(intruderHex)} refused by the broker (${connect})`);
    const fakeMembership = {
      deviceId: intruderId,
      kid: crypto.getRandomValues(new Uint8Array(4)),
      memberKey: crypto.getRandomValues(new Uint8Array(32)),
      expiresAt: Date.now() + 60_000,
    };
    const forged = createSessionRequest({
      membership: fakeMembership,
      clusterId: head.clusterId,
      peerId: Buffer.from(m2.deviceId, "hex"),
      now: Date.now(),
    });
    const warned = nextEvent(m2, "warning", (e) => e.peerId === intruderHex);
    await inject(encodeEnvelope(intruderId, forged.message));
    const warning = await warned;
    refused(
      "intruder",
      `its session request reached m2; the head refused it and warned m2: ${warning.reason}`,
    );

    // 6b. A tampered frame and a replayed frame, injected by the same compromised broker.
    const captured = new Promise<Buffer>((resolve) => {
      if (spy) {
        // m1's next frame, not the intruder's request above, which the spy saw too.
        const tap = (topic: string, payload: Buffer) => {
          if (topic !== m2Inbox || payload.subarray(0, 32).toString("hex") !== m1.deviceId) return;
          spy.off("message", tap);
          resolve(Buffer.from(payload));
        };
        spy.on("message", tap);
        return;
      }
      const tap = (packet: { topic: string; payload: string | Buffer }) => {
        if (packet.topic !== m2Inbox) return;
        embedded!.broker.removeListener("publish", tap);
        resolve(Buffer.from(packet.payload));
      };
      embedded!.broker.on("publish", tap);
    });
    const delivered = nextEvent(m2, "message", () => true);
    await m1.send(m2.deviceId, "open the valve at 06:00");
    const frame = await captured;
    await delivered;
    const before = { ...m2.stats };
    const tampered = Buffer.from(frame);
    tampered[tampered.length - 20] = (tampered[tampered.length - 20] as number) ^ 0x01; // a ciphertext bit
    // A fresh sequence number, so the frame passes the replay window and must fail on its tag.
    const seqOffset = 32 + 2 + 1 + 4;
    tampered.writeBigUInt64BE(tampered.readBigUInt64BE(seqOffset) + 1000n, seqOffset);
    await inject(tampered);
    await inject(frame);
    await m2.idle();
    const deadline = Date.now() + 5000;
    while (
      (m2.stats.refused === before.refused || m2.stats.replayed === before.replayed) &&
      Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 20));
      await m2.idle();
    }
    if (m2.stats.refused <= before.refused) throw new Error("the tampered frame was not refused");
    if (m2.stats.replayed <= before.replayed) throw new Error("the replayed frame was not dropped");
    refused("tampered", "a frame with one bit flipped failed its AEAD tag at m2 and was dropped");
    refused("replayed", "a captured frame sent again was dropped by m2's replay window");

    // 6c. Telemetry: a collector joins as an ordinary member and a sensor streams readings to it.
    await tellTelemetry({
      workDir,
      head,
      adminToken,
      rpcUrl: node.url,
      deploymentFile,
      registry,
      position: POSITION,
      ...(mosquitto && brokerTls ? { brokerCa: { file: mosquitto.caFile, tls: brokerTls } } : {}),
      ok,
      cleanups,
    });

    // 6d. Revocation on chain: m2 is told, m1 is refused right after.
    const peerEnded = nextEvent(m2, "peer-ended", (e) => e.peerId === m1.deviceId);
    const revoke = await fetch(`${head.url}/v1/devices/${m1.deviceId}/revoke`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminToken}` },
    });
    const revoked = (await revoke.json()) as { transactionHash: string; blockNumber: number };
    if (revoke.status !== 200) throw new Error(`revocation failed: ${JSON.stringify(revoked)}`);
    await peerEnded;
    ok(
      "revoke",
      `m1 revoked on chain (block ${revoked.blockNumber}); the head ended its sessions and told m2`,
    );
    const rejoin = await m1.join(head.url, { position: POSITION }).then(
      () => "admitted",
      (error: unknown) => (isDeviceError(error) ? (error.headCode ?? error.code) : String(error)),
    );
    if (rejoin === "admitted") throw new Error("a revoked device was admitted");
    refused("revoke", `m1 tries to join again: refused with ${rejoin}`);

    if (KEEP) {
      ok(
        "kept",
        `the head stays up: ${head.url}/dashboard/ (token in ${tokenFile}); Ctrl-C stops it and removes everything`,
      );
      return;
    }
    await stopAll();
    ok(
      "done",
      `everything stopped cleanly; the story took ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  } catch (error) {
    await stopAll();
    throw error;
  }
}

main().catch((error: Error) => {
  console.error(`npm start failed: ${error.message}`);
  process.exitCode = 1;
});
