/** The markdown summary of a results file. @module */
import type { Results, Row } from "./schema";

function fmt(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "–";
  const a = Math.abs(n);
  if (a >= 1000) return Math.round(n).toLocaleString("en-US");
  if (a >= 100) return n.toFixed(0);
  if (a >= 10) return n.toFixed(1);
  if (a >= 1) return n.toFixed(2);
  return n.toPrecision(2);
}

function goalCell(r: Row): string {
  if (!r.goal) return "";
  return `${r.goal.met ? "✅" : "❌"} ${r.goal.text}`;
}

export function markdown(results: Results, svgFiles: string[]): string {
  const out: string[] = [];
  out.push(`# iotguard benchmarks — ${results.startedAt}`);
  out.push("");
  const m = results.machine;
  out.push(
    `${results.mode} run of ${results.suites.join(", ")} in ${fmt(results.durationS)} s · \`${results.command}\` · ` +
      `commit ${results.git.commit.slice(0, 10)}${results.git.dirty ? " (dirty tree)" : ""} · ` +
      `${m.cpus}× ${m.cpuModel}, ${fmt(m.totalMemMB)} MB, Node ${m.node}, load ${m.loadAvgStart.toFixed(2)} → ${m.loadAvgEnd.toFixed(2)}`,
  );
  out.push("");
  out.push(
    "Ratios compare `case` with `baseline`, both measured in this run (or a fixed reference, marked so).",
  );
  out.push("");
  const goals = results.rows.filter((r) => r.goal);
  if (goals.length) {
    out.push("## Goals (issue 7)");
    out.push("");
    out.push("| suite | case | figure | goal | met |");
    out.push("|---|---|---:|---|:-:|");
    for (const r of goals) {
      const figure = r.goal?.on === "ratio" ? `ratio ${fmt(r.ratio)}` : `${fmt(r.value)} ${r.unit}`;
      out.push(`| ${r.suite} | ${r.case} | ${figure} | ${r.goal?.text} | ${r.goal?.met ? "✅" : "❌"} |`);
    }
    out.push("");
  }
  for (const suite of results.suites) {
    const rows = results.rows.filter((r) => r.suite === suite);
    out.push(`## ${suite}`);
    out.push("");
    const failure = results.failures.find((f) => f.suite === suite);
    if (failure) out.push(`**failed:** ${failure.error}`, "");
    if (rows.length === 0) continue;
    out.push(
      "| case | value | unit | baseline | baseline value | ratio | p50 ms | p95 ms | p99 ms | goal | note |",
    );
    out.push("|---|---:|---|---|---:|---:|---:|---:|---:|---|---|");
    for (const r of rows) {
      out.push(
        `| ${r.case} | ${fmt(r.value)} | ${r.unit} | ${r.baseline?.case ?? ""} | ${fmt(r.baseline?.value)} | ` +
          `${fmt(r.ratio)} | ${fmt(r.latencyMs?.p50)} | ${fmt(r.latencyMs?.p95)} | ${fmt(r.latencyMs?.p99)} | ` +
          `${goalCell(r)} | ${r.note ?? ""} |`,
      );
    }
    out.push("");
    for (const f of svgFiles.filter((f) =>
      results.series.some((s) => s.suite === suite && f.endsWith(`-${s.name}.svg`)),
    )) {
      out.push(`![${f}](${f})`, "");
    }
  }
  if (results.notes.length) {
    out.push("## Notes", "");
    for (const n of results.notes) out.push(`- ${n}`);
    out.push("");
  }
  return out.join("\n");
}
