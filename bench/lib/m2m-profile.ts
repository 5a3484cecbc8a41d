/**
 * The m2m suite's QoS 1 case at one size, alone, for profiling and quick A/B work:
 * `npx tsx bench/lib/m2m-profile.ts [--size 256] [--count 3000] [--rounds 3] [--broker aedes|mosquitto|both] [--suites aes,chacha] [--prof DIR]`.
 * Runs plaintext and encrypted (AES-256-GCM and/or ChaCha20-Poly1305) alternately through a bare
 * aedes and a private Mosquitto with the suite's two device processes, prints msg/s, the ratio and
 * the CPU time per message of the sender, the receiver and the broker (process.cpuUsage and /proc:
 * steadier than msg/s on a shared machine, since 3 processes on 2 cores are CPU bound); with `--prof` the
 * peers run under `node --cpu-prof` (only the encrypted runs unless `--both`), and each peer's
 * self time inside the runs is summarised (bench/lib/cpu-profile.ts, top 10) into
 * `<DIR>/m2m-profile.md`.
 * @module
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { AeadSuite } from "../../protocol/constants";
import { type ProfileSummary, summariseProfile } from "./cpu-profile";
import { startPeers } from "./m2m-peers";
import { median } from "./measure";
import { type BrokerProcess, procUsage, startAedes, startMosquitto } from "./processes";
import { channelSessionPair } from "./pure-session";

interface RunWindow {
  mode: "plaintext" | "encrypted";
  startUs: number;
  endUs: number;
}

/** The top functions by self time as a Markdown table (module paths shortened). */
function functionsMarkdown(title: string, summary: ProfileSummary, messages: number): string {
  return [
    `### ${title}`,
    "",
    `${summary.busyMs.toFixed(0)} ms busy of ${summary.windowMs.toFixed(0)} ms inside the runs: ${((summary.busyMs * 1000) / messages).toFixed(0)} µs busy per message (${messages} messages).`,
    "",
    "| function | where | self ms | share of busy |",
    "|---|---|---:|---:|",
    ...summary.functions.map(
      (f) =>
        `| \`${f.name}\` | ${f.where.replace(/^file:\/\/.*?\/(protocol|platform|transport|bench)\//, "$1/") || "–"} | ${f.ms.toFixed(1)} | ${(f.share * 100).toFixed(1)} % |`,
    ),
    "",
  ].join("\n");
}

type Mode = "plain" | "enc" | "chacha" | "enc-baseline";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      size: { type: "string", default: "256" },
      count: { type: "string", default: "3000" },
      rounds: { type: "string", default: "3" },
      broker: { type: "string", default: "both" },
      prof: { type: "string" },
      /** With --prof: plaintext runs too (their samples are summarised apart). */
      both: { type: "boolean", default: false },
      /** A second peer entry point (e.g. a copy on the previous channel code), encrypted runs alternating with ours. */
      baseline: { type: "string" },
      /** The encrypted runs' AEAD suites, in each round: `aes`, `chacha` or both (`aes,chacha`). */
      suites: { type: "string", default: "aes" },
      /** The baseline peer's suite (`aes` or `chacha`). */
      "baseline-suite": { type: "string", default: "aes" },
    },
  });
  const size = Number(values.size);
  const count = Number(values.count);
  const rounds = Number(values.rounds);
  const starters: Array<() => Promise<BrokerProcess>> = [];
  if (values.broker !== "mosquitto") starters.push(startAedes);
  if (values.broker !== "aedes") starters.push(startMosquitto);
  const body = randomBytes(size);
  const markdown: string[] = [];
  const modes: Mode[] = [];
  if (!values.prof || values.both) modes.push("plain");
  const suites = (values.suites ?? "aes").split(",");
  if (suites.includes("aes")) modes.push("enc");
  if (suites.includes("chacha")) modes.push("chacha");
  if (values.baseline) modes.push("enc-baseline");
  const suiteOf = (mode: Mode) =>
    mode === "chacha" || (mode === "enc-baseline" && values["baseline-suite"] === "chacha")
      ? AeadSuite.CHACHA20_POLY1305
      : AeadSuite.AES_256_GCM;
  for (const start of starters) {
    const broker = await start();
    const profDir = values.prof ? join(values.prof, broker.name) : undefined;
    if (profDir) {
      mkdirSync(profDir, { recursive: true });
      process.env.IOTGUARD_M2M_CPU_PROF = profDir;
    }
    const client = () => ({ url: broker.url, clientId: `prof-${randomBytes(6).toString("hex")}` });
    const ours = await startPeers({ sender: client(), receiver: client() });
    const baseline = values.baseline
      ? await startPeers(
          { sender: client(), receiver: client() },
          { script: values.baseline, label: "baseline" },
        )
      : undefined;
    const rates: Record<Mode, number[]> = { plain: [], enc: [], chacha: [], "enc-baseline": [] };
    /** CPU µs per message of the sender, the receiver and the broker, per run. */
    const cpu: Record<Mode, Array<{ sender: number; receiver: number; broker: number }>> = {
      plain: [],
      enc: [],
      chacha: [],
      "enc-baseline": [],
    };
    const runOnce = (mode: Mode | "warm-plain", topic: string) => {
      const pair = mode === "plain" || mode === "warm-plain" ? undefined : channelSessionPair(suiteOf(mode));
      return (mode === "enc-baseline" ? baseline! : ours).run({
        topic,
        qos: 1,
        count: topic.endsWith("warm-up") ? 1000 : count,
        unmeasured: topic.endsWith("warm-up"),
        window: 100,
        body,
        ...(pair
          ? { sessions: { sender: pair.initiator, receiver: pair.responder }, senderId: randomBytes(32) }
          : {}),
      });
    };
    try {
      for (const mode of ["warm-plain", ...modes] as const)
        await runOnce(mode, `iotguard-prof/${broker.name}/${mode}/warm-up`);
      for (let r = 0; r < rounds; r++) {
        for (const mode of modes) {
          const brokerBefore = procUsage(broker.pid).cpuS;
          const res = await runOnce(mode, `iotguard-prof/${broker.name}/${r}/${mode}`);
          const brokerUs = ((procUsage(broker.pid).cpuS - brokerBefore) * 1e6) / Math.max(1, res.received);
          rates[mode].push(res.rate);
          cpu[mode].push({ ...res.cpuUsPerMessage, broker: brokerUs });
          console.log(
            `${broker.name} ${mode} ${res.rate.toFixed(0)} msg/s (${res.received}/${res.sent}) p50 ${median(res.latenciesMs).toFixed(2)} ms; CPU µs/msg sender ${res.cpuUsPerMessage.sender.toFixed(1)} receiver ${res.cpuUsPerMessage.receiver.toFixed(1)} broker ${brokerUs.toFixed(1)}`,
          );
        }
      }
    } finally {
      await ours.stop();
      await baseline?.stop();
      await broker.stop();
    }
    const plain = median(rates.plain);
    const cpuTotal = (mode: Mode) => median(cpu[mode].map((c) => c.sender + c.receiver + c.broker));
    for (const mode of modes) {
      const c = cpu[mode];
      console.log(
        `${broker.name} QoS 1 ${size} B ${mode}: median ${median(rates[mode]).toFixed(0)} msg/s${rates.plain.length && mode !== "plain" ? `, / plaintext ${(median(rates[mode]) / plain).toFixed(2)}` : ""}; median CPU µs/msg sender ${median(c.map((x) => x.sender)).toFixed(1)} receiver ${median(c.map((x) => x.receiver)).toFixed(1)} broker ${median(c.map((x) => x.broker)).toFixed(1)} total ${cpuTotal(mode).toFixed(1)}${rates.plain.length && mode !== "plain" ? ` (plaintext total / this ${(cpuTotal("plain") / cpuTotal(mode)).toFixed(2)})` : ""}`,
      );
    }
    if (profDir) {
      for (const label of values.baseline ? ["", "baseline-"] : [""])
        for (const role of ["sender", "receiver"] as const) {
          const base = join(profDir, `m2m-${label}${role}`);
          const windows = JSON.parse(readFileSync(`${base}.windows.json`, "utf8")) as RunWindow[];
          for (const mode of ["encrypted", "plaintext"] as const) {
            const own = windows.filter((w) => w.mode === mode);
            if (own.length === 0) continue;
            const summary = summariseProfile(
              `${base}.cpuprofile`,
              own.map((w) => [w.startUs, w.endUs]),
              10,
            );
            markdown.push(
              functionsMarkdown(
                `${broker.name}, ${label ? "baseline " : ""}${role}, ${mode}, QoS 1, ${size} B`,
                summary,
                own.length * count,
              ),
            );
          }
        }
    }
  }
  if (values.prof) {
    const out = join(values.prof, "m2m-profile.md");
    writeFileSync(out, markdown.join("\n"));
    console.log(markdown.join("\n"));
    console.log(`wrote ${out}`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
