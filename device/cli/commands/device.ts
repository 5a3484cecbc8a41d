/** `iotguard device …`: what runs on the device (docs/device.md § CLI). */
import { writeFileSync } from "node:fs";
import { Command } from "commander";
import type { JoinSuiteName } from "../../../protocol";
import { type Device, DeviceError, type DeviceOptions, HeadClient } from "../../sdk";
import { redactBrokerUrl } from "../../../transport/mqtt";
import {
  type BrokerFlags,
  brokerOptionsOf,
  type ChainFlags,
  type CommonOptions,
  dataDirOf,
  HEAD_CA_HELP,
  microdegrees,
  openDevice,
  print,
  readHeadCa,
  readToken,
  registryOf,
  withBroker,
  withChain,
  withCommon,
} from "../context";
import { describePending, type WaitFlags, waitForConfirmation, withWaitOptions } from "./confirmation-wait";
import { publishCommand } from "./publish";

interface HeadFlags extends ChainFlags {
  head?: string;
  headCa?: string;
  headAddress?: string;
  topicPrefix?: string;
  brokerUrl?: string;
}

function headOptions(f: HeadFlags) {
  return {
    ...(f.headAddress ? { headAddress: f.headAddress } : {}),
    ...(f.topicPrefix ? { topicPrefix: f.topicPrefix } : {}),
    ...(f.brokerUrl ? { brokerUrl: f.brokerUrl } : {}),
  };
}

function withHead(cmd: Command, required: boolean): Command {
  const head = "cluster head URL, e.g. http://127.0.0.1:8080";
  return withChain(
    (required
      ? cmd.requiredOption("--head <url>", head)
      : cmd.option("--head <url>", `${head} (default: the pinned one)`)
    )
      .option("--head-ca <file>", HEAD_CA_HELP)
      .option(
        "--head-address <0x…>",
        "the head's address, when not read from the chain (never taken from /health)",
      )
      .option("--topic-prefix <prefix>", "MQTT topic prefix the head uses (default: iotguard)")
      .option(
        "--broker-url <url>",
        "MQTT broker (default: the broker port the head reports, on the head's host)",
      ),
  );
}

/** Device options for the commands that verify the head: the registry to read it from, the CA to pin. */
function trustOptions(f: HeadFlags): Pick<DeviceOptions, "registry" | "headCa"> {
  const registry = registryOf(f);
  const headCa = readHeadCa(f.headCa);
  return { ...(registry ? { registry } : {}), ...(headCa === undefined ? {} : { headCa }) };
}

async function withDevice<T>(
  o: CommonOptions,
  run: (device: Device) => Promise<T>,
  extra: Partial<DeviceOptions> = {},
): Promise<T> {
  const device = await openDevice(o, extra);
  try {
    return await run(device);
  } finally {
    await device.close();
  }
}

export function deviceCommand(): Command {
  const cmd = new Command("device").description("run a device: identity, enrollment, join, messages");

  withCommon(cmd.command("init").description("create this device's identity (key and device ID)")).action(
    async (o: CommonOptions) =>
      withDevice(o, async (device) => {
        const { deviceId, keyAddress } = await device.init();
        print(o, `device ${deviceId}\nkey address ${keyAddress}\ndata dir ${dataDirOf(o)}`, {
          event: "initialised",
          deviceId,
          keyAddress,
          dataDir: dataDirOf(o),
        });
      }),
  );

  withCommon(
    withHead(cmd.command("request"), false)
      .description("print the enrollment request (JSON) an operator posts with `operator enroll`")
      .option("--cluster-id <n>", "cluster to enroll in (default: the head's)")
      .option("--out <file>", "write the request to a file instead of stdout"),
  ).action(async (o: CommonOptions & HeadFlags & { clusterId?: string; out?: string }) =>
    withDevice(
      o,
      async (device) => {
        if (o.head) await device.pinHead(o.head, headOptions(o));
        const request = await device.enrollmentRequest(
          o.clusterId === undefined ? undefined : Number(o.clusterId),
        );
        const text = `${JSON.stringify(request, null, 2)}\n`;
        if (o.out) writeFileSync(o.out, text);
        else process.stdout.write(text);
      },
      o.head ? trustOptions(o) : {},
    ),
  );

  withCommon(
    withWaitOptions(
      withHead(cmd.command("enroll"), true)
        .description(
          "operator convenience: enroll this device with the operator token; waits for the head's confirmations unless --no-wait",
        )
        .requiredOption(
          "--token-file <file>",
          "file holding the operator token (e.g. <head data dir>/admin-token)",
        ),
    ),
  ).action(async (o: CommonOptions & HeadFlags & WaitFlags & { tokenFile: string }) =>
    withDevice(
      o,
      async (device) => {
        // As Device.enroll, but answered once mined, so that the wait below can show progress.
        const pin = await device.pinHead(o.head!, headOptions(o));
        const head = new HeadClient(pin.headUrl, pin.headCa === undefined ? {} : { ca: pin.headCa });
        const request = await device.enrollmentRequest(pin.clusterId);
        const receipt = await head.enroll(request, readToken(o.tokenFile), { wait: false });
        if (o.wait) await waitForConfirmation(head, device.deviceId, receipt.pending, "active", o);
        const pending = o.wait ? undefined : receipt.pending;
        print(
          o,
          pending
            ? `enrollment of ${device.deviceId} sent: ${describePending(pending)}`
            : `enrolled ${device.deviceId} in block ${receipt.blockNumber} (tx ${receipt.transactionHash})`,
          {
            event: pending ? "enrollment-pending" : "enrolled",
            deviceId: device.deviceId,
            transactionHash: receipt.transactionHash,
            blockNumber: receipt.blockNumber,
            ...(pending ? { pending } : {}),
          },
        );
      },
      trustOptions(o),
    ),
  );

  withCommon(
    withHead(cmd.command("join"), false)
      .description("join the cluster: get a member key and broker credential from the head")
      .option("--lat <degrees>", "latitude in decimal degrees", "0")
      .option("--lon <degrees>", "longitude in decimal degrees", "0")
      .option(
        "--join-suite <names>",
        "join suites to offer, comma-separated: hybrid (ML-KEM-768 + ECDH), classic (ECDH only); `hybrid` pins the device to the hybrid suite, `classic` is for heads from before it",
        "hybrid,classic",
      ),
  ).action(async (o: CommonOptions & HeadFlags & { lat: string; lon: string; joinSuite: string }) =>
    withDevice(
      o,
      async (device) => {
        const position = { lat: microdegrees(o.lat, "--lat"), lon: microdegrees(o.lon, "--lon") };
        const joinSuites = o.joinSuite.split(",") as JoinSuiteName[]; // the SDK checks the names
        const joined = await device.join(o.head, { position, joinSuites, ...headOptions(o) });
        const from = joined.headSource === "chain" ? "read from the chain" : joined.headSource;
        const suite = joined.suite === "hybrid" ? "hybrid ML-KEM-768 + ECDH" : "classic ECDH";
        print(
          o,
          `joined cluster ${joined.clusterId} until ${new Date(joined.expiresAt).toISOString()} with the ${suite} join suite (head ${joined.headAddress}, ${from})`,
          { event: "joined", deviceId: device.deviceId, ...joined },
        );
      },
      trustOptions(o),
    ),
  );

  withCommon(
    withBroker(
      cmd
        .command("listen")
        .description("stay connected and print every message received (one line each) until Ctrl-C"),
    ),
  ).action(async (o: CommonOptions & BrokerFlags) => {
    const device = await openDevice(o, brokerOptionsOf(o));
    try {
      device.on("message", ({ from, data, seq }) => {
        const text = new TextDecoder().decode(data);
        print(o, `${from.slice(0, 12)}… ${text}`, { event: "message", from, seq, text });
      });
      device.on("session-opened", (s) =>
        print(o, `# session with ${s.peerId.slice(0, 12)}… (${s.role})`, { event: "session-opened", ...s }),
      );
      device.on("peer-ended", (e) =>
        print(o, `# peer ${e.peerId.slice(0, 12)}… ended (${e.reason})`, { event: "peer-ended", ...e }),
      );
      device.on("warning", (w) =>
        print(o, `# head warning about ${w.peerId.slice(0, 12)}…: ${w.reason}`, { event: "warning", ...w }),
      );
      device.on("error", (e) => process.stderr.write(`warning: ${e.message}\n`));
      const ended = new Promise<void>((resolve) => {
        device.on("membership-ended", (e) => {
          print(o, `# membership ended: ${e.reason}`, { event: "membership-ended", ...e });
          resolve();
        });
        process.once("SIGINT", () => resolve());
        process.once("SIGTERM", () => resolve());
      });
      await device.connect(o.brokerUrl ? { brokerUrl: o.brokerUrl } : {});
      print(o, `listening as ${device.deviceId} (Ctrl-C to stop)`, {
        event: "ready",
        deviceId: device.deviceId,
      });
      await ended;
    } finally {
      await device.close();
    }
  });

  withCommon(
    withBroker(
      cmd
        .command("send")
        .description("send one message to a peer (opens a session when needed)")
        .requiredOption("--to <deviceId>", "the peer's device ID (64 hex)"),
    )
      .option("--timeout <ms>", "how long to wait for the session grant", "10000")
      .argument("<message...>", "the text to send"),
  ).action(async (words: string[], o: CommonOptions & BrokerFlags & { to: string; timeout: string }) => {
    const timeout = Number(o.timeout);
    if (!Number.isInteger(timeout) || timeout <= 0)
      throw new DeviceError("E_BAD_ARGUMENT", "--timeout: positive integer ms");
    await withDevice(
      o,
      async (device) => {
        await device.connect(o.brokerUrl ? { brokerUrl: o.brokerUrl } : {});
        const text = words.join(" ");
        const seq = await device.send(o.to, text);
        print(o, `sent to ${o.to.slice(0, 12)}… (seq ${seq})`, { event: "sent", to: o.to, seq });
      },
      { grantTimeoutMs: timeout, ...brokerOptionsOf(o) },
    );
  });

  withCommon(
    cmd.command("status").description("identity, pinned head, membership and sessions (never keys)"),
  ).action(async (o: CommonOptions) =>
    withDevice(o, async (device) => {
      const s = await device.status();
      const lines = [
        `device      ${s.deviceId}`,
        `key address ${s.keyAddress} (${s.keyProtection})`,
        s.head
          ? `head        ${s.head.headUrl} ${s.head.headAddress} cluster ${s.head.clusterId} (${s.head.source})\nbroker      ${redactBrokerUrl(s.head.brokerUrl)} prefix ${s.head.topicPrefix}`
          : "head        (none pinned)",
        s.membership
          ? `membership  ${s.membership.current ? "current" : "expired"} until ${new Date(s.membership.expiresAt).toISOString()}`
          : "membership  (not joined)",
        `sessions    ${s.sessions.length}`,
        ...s.sessions.map((x) => `  ${x.peerId} until ${new Date(x.expiresAt).toISOString()}`),
      ];
      print(o, lines.join("\n"), { event: "status", ...s });
    }),
  );

  cmd.addCommand(publishCommand());

  return cmd;
}
