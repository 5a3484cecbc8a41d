/**
 * A/B of node flags, or of two builds, for the cluster head under grant load: two real heads
 * (built, product settings) on one chain, A with the head's own flags (HEAD_NODE_FLAGS), B with
 * those plus the flags given; chunks of grants sent to each in turn by the load generator in its
 * own process. Prints head CPU per grant and RSS after each chunk, and the medians.
 * Run: `npx tsx bench/lib/head-flags-ab.ts --heap-growing-percent=20 [--chunks 6 --chunk 5000]`.
 * With `--a-main <worktree>/dist/services/cluster-head/main.js`, A runs that build instead (e.g. a
 * `git worktree` of the commit before a change, built there): the same flags, another version of
 * the code. With `--b-env NAME=value` (repeatable), B runs with that in its environment over the
 * head's own (HEAD_ENVIRONMENT); `--b-env NAME=` leaves NAME out, e.g.
 * `--b-env MALLOC_MMAP_THRESHOLD_=` for a head without the C library setting.
 * @module
 */
import type { Membership } from "../../protocol/membership";
import { startTestChain } from "../../testkit/chain";
import { enrollDevices, grantRequest, joinOverHttp } from "./devices";
import { runHttpLoad } from "./http-loadgen";
import { median } from "./measure";
import { type BenchHead, procUsage, startHeadProcess } from "./processes";

const MEMBERS = 40;
const CONCURRENCY = 32;
/** This tool's own options that take a value (everything else starting with -- goes to node). */
const VALUED = ["--chunks", "--chunk", "--a-main", "--b-env"];

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
}

async function members(head: BenchHead): Promise<Membership[]> {
  const { devices } = await enrollDevices(head, MEMBERS);
  const joined: Membership[] = [];
  for (const device of devices) joined.push(await joinOverHttp(head, device));
  return joined;
}

async function chunkOn(head: BenchHead, ms: Membership[], offset: number, size: number) {
  const requests = Array.from({ length: size }, (_, j) => {
    const i = offset + j;
    return grantRequest(ms[i % MEMBERS]!, ms[(i + 1 + (i % 3)) % MEMBERS]!, head.clusterId).message;
  });
  let start = { cpuS: 0, mainThreadCpuS: 0 };
  let cpuS = 0;
  let mainS = 0;
  const run = await runHttpLoad(
    requests,
    { url: head.url, path: "/v1/sessions", concurrency: CONCURRENCY, countHeader: "x-iotguard-outcome" },
    {
      before: () => (start = procUsage(head.pid)),
      after: () => {
        const end = procUsage(head.pid);
        cpuS = end.cpuS - start.cpuS;
        mainS = end.mainThreadCpuS - start.mainThreadCpuS;
      },
    },
  );
  const granted = run.counted.grant ?? 0;
  if (granted !== size) throw new Error(`${size - granted} of ${size} requests were not granted`);
  return {
    cpuMsPerGrant: (cpuS * 1000) / size,
    mainMsPerGrant: (mainS * 1000) / size,
    rssMB: procUsage(head.pid).rssMB,
    perS: (size * 1000) / run.wallMs,
  };
}

async function main(): Promise<void> {
  const flags = process.argv
    .slice(2)
    .filter((a, i, all) => a.startsWith("--") && !VALUED.includes(a) && !VALUED.includes(all[i - 1] ?? ""));
  const aMainAt = process.argv.indexOf("--a-main");
  const aMain = aMainAt > 0 ? process.argv[aMainAt + 1] : undefined;
  const bEnv: NodeJS.ProcessEnv = {};
  process.argv.forEach((arg, i) => {
    if (process.argv[i - 1] !== "--b-env") return;
    const [name, ...value] = arg.split("=");
    if (!name || value.length === 0) throw new Error(`--b-env takes NAME=value, not ${arg}`);
    bEnv[name] = value.join("=") || undefined;
  });
  const chunks = option("--chunks", 6);
  const chunk = option("--chunk", 5000);
  const chain = await startTestChain();
  const heads: BenchHead[] = [];
  try {
    heads.push(await startHeadProcess(chain, [], "built", aMain ? { mainScript: aMain } : {}));
    heads.push(
      await startHeadProcess(chain, ["--cluster-id", "2"], "built", { nodeOptions: flags, env: bEnv }),
    );
    const ms = [await members(heads[0]!), await members(heads[1]!)];
    const results: { cpuMsPerGrant: number; mainMsPerGrant: number; rssMB: number; perS: number }[][] = [
      [],
      [],
    ];
    for (let k = 0; k < chunks; k++)
      for (const v of k % 2 ? [1, 0] : [0, 1]) {
        const r = await chunkOn(heads[v]!, ms[v]!, k * chunk, chunk);
        results[v]!.push(r);
        console.log(
          `chunk ${k} ${v ? "B" : "A"}: ${r.cpuMsPerGrant.toFixed(3)} ms CPU/grant (main thread ${r.mainMsPerGrant.toFixed(3)}), ${r.perS.toFixed(0)} grants/s, RSS ${r.rssMB.toFixed(0)} MB`,
        );
      }
    for (const v of [0, 1]) {
      const r = results[v]!;
      console.log(
        `${v ? `B (this build, ${[...flags, ...Object.entries(bEnv).map(([n, x]) => `${n}=${x ?? "(unset)"}`)].join(" ") || "head flags"})` : `A (${aMain ?? "this build"}, head flags)`}: median ${median(r.map((x) => x.cpuMsPerGrant)).toFixed(3)} ms CPU/grant (main thread ${median(r.map((x) => x.mainMsPerGrant)).toFixed(3)}), ` +
          `RSS ${r.map((x) => x.rssMB.toFixed(0)).join(", ")} MB`,
      );
    }
    // Each chunk k of B against chunk k of A (sent right before or after it): drift cancels out.
    const ratios = results[1]!.map((b, k) => b.cpuMsPerGrant / results[0]![k]!.cpuMsPerGrant);
    console.log(
      `B / A, CPU per grant, chunk by chunk: median ${median(ratios).toFixed(3)} (${ratios.map((r) => r.toFixed(2)).join(", ")})`,
    );
  } finally {
    for (const head of heads) await head.stop();
    await chain.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
