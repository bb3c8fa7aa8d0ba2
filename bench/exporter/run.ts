/**
 * Scrape cost of `boxscope exporter` beside node_exporter (Debian prometheus-node-exporter, with
 * its processes and conntrack collectors on), in one run, with 10, 100 and 500 live container-like
 * cgroups (`/boxscope-bench-exporter-<rand>/<64hex>` in every hierarchy, one sleeping process each).
 * The two exporters are scraped alternately in one loop, so both see the same background load.
 * Both exporters run as child processes; CPU per scrape = their utime+stime delta over the scrape
 * loop ÷ scrapes. Prints a Markdown table for docs/benchmarks.md. Needs root.
 *
 *   npm run bench:exporter [-- --scrapes 200 --counts 10,100,500]
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  createContainerCgroup,
  randomId,
  type TestContainerCgroup,
} from "../../test/helpers/container-cgroup.js";
import { repoRoot } from "../../test/helpers/paths.js";
import { freePort } from "../../test/helpers/prometheus.js";

const args = process.argv.slice(2);
const arg = (name: string, def: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? (args[i + 1] ?? def) : def;
};
const SCRAPES = Number(arg("scrapes", "200"));
const COUNTS = arg("counts", "10,100,500").split(",").map(Number);
/** Extra node flags for the exporter child (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p" or "--trace-gc"), space-separated. */
const NODE_ARGS = arg("node-args", "")
  .split(" ")
  .filter((a) => a !== "");
/** Print the slowest scrapes (index, ms since the loop began, latency) for each point. */
const OUTLIERS = Number(arg("outliers", "0"));
const CLK_TCK = 100;

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(rest[11]) + Number(rest[12])) / CLK_TCK; // utime + stime
}

async function waitUp(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up`);
}

async function waitContainers(url: string, n: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const m = /^boxscope_containers (\d+)$/m.exec(await (await fetch(url)).text());
    if (m && Number(m[1]) >= n) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`exporter did not see ${n} containers within 30 s`);
}

interface Result {
  outliers: string;
  p50: number;
  p99: number;
  cpuMs: number;
  bytes: number;
  series: number;
}

interface Target {
  readonly url: string;
  readonly pid: number;
}

/**
 * Scrapes both exporters in turn (A B, B A, A B...), so a burst of load from elsewhere on the
 * machine lands on both instead of on whichever was being measured at the time.
 */
async function measurePair(targets: readonly [Target, Target]): Promise<[Result, Result]> {
  for (const t of targets) for (let i = 0; i < 5; i++) await (await fetch(t.url)).text(); // warm-up
  const lat: number[][] = [[], []];
  const at: number[][] = [[], []];
  const bytes = [0, 0];
  const series = [0, 0];
  const loopStart = process.hrtime.bigint();
  const cpu0 = targets.map((t) => cpuSeconds(t.pid));
  for (let i = 0; i < SCRAPES; i++) {
    for (const k of i % 2 === 0 ? [0, 1] : [1, 0]) {
      const t0 = process.hrtime.bigint();
      at[k]?.push(Number(t0 - loopStart) / 1e6);
      const body = await (await fetch((targets[k] as Target).url)).text();
      lat[k]?.push(Number(process.hrtime.bigint() - t0) / 1e6);
      bytes[k] = body.length;
      series[k] = body.split("\n").filter((l) => l !== "" && !l.startsWith("#")).length;
    }
  }
  const cpu = targets.map((t, k) => cpuSeconds(t.pid) - (cpu0[k] as number));
  const result = (k: number): Result => {
    const l = lat[k] as number[];
    const outliers = l
      .map((ms, i) => ({ ms, i }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, OUTLIERS)
      .map((o) => `#${o.i}@${((at[k]?.[o.i] ?? 0) / 1000).toFixed(1)}s=${o.ms.toFixed(1)}ms`)
      .join(" ");
    const sorted = [...l].sort((a, b) => a - b);
    const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
    return {
      outliers,
      p50: q(0.5),
      p99: q(0.99),
      cpuMs: ((cpu[k] as number) * 1000) / SCRAPES,
      bytes: bytes[k] as number,
      series: series[k] as number,
    };
  };
  return [result(0), result(1)];
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("bench:exporter needs root (it creates cgroups)");
  const parent = `boxscope-bench-exporter-${randomId()}`;
  const loadStart = readFileSync("/proc/loadavg", "utf8").trim();
  const cgroups: TestContainerCgroup[] = [];
  const sleepers: ChildProcess[] = [];
  const children: ChildProcess[] = [];
  const cleanup = () => {
    // SIGTERM first so an exporter run with --cpu-prof can write its profile before it exits.
    for (const c of children) c.kill("SIGTERM");
    for (let i = 0; i < 50 && children.some((c) => c.exitCode === null && existsSync(`/proc/${c.pid}`)); i++)
      spawnSync("sleep", ["0.1"]);
    for (const c of [...children, ...sleepers]) c.kill("SIGKILL");
    for (const c of cgroups.reverse()) c.cleanup();
    spawnSync("sh", [
      "-c",
      `for d in /sys/fs/cgroup/*/${parent} /sys/fs/cgroup/${parent}; do [ -d "$d" ] && rmdir "$d"; done`,
    ]);
  };
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.on(sig, () => {
      cleanup();
      process.exit(130);
    });
  }
  try {
    const boxPort = await freePort();
    const nodePort = await freePort();
    const box = spawn(
      process.execPath,
      [
        ...NODE_ARGS,
        join(repoRoot, "bin/boxscope.js"),
        "exporter",
        "--listen",
        `127.0.0.1:${boxPort}`,
        "--log-root",
        "/",
      ],
      {
        stdio: ["ignore", NODE_ARGS.length > 0 ? "inherit" : "ignore", "inherit"],
        env: { ...process.env, BOXSCOPE_LOG_LEVEL: "warn" },
      },
    );
    children.push(box);
    const ne = spawn(
      "prometheus-node-exporter",
      [`--web.listen-address=127.0.0.1:${nodePort}`, "--collector.processes", "--collector.conntrack"],
      { stdio: "ignore" },
    );
    children.push(ne);
    const boxUrl = `http://127.0.0.1:${boxPort}/metrics`;
    const neUrl = `http://127.0.0.1:${nodePort}/metrics`;
    await waitUp(boxUrl);
    await waitUp(neUrl);
    const rows: string[] = [];
    for (const n of COUNTS) {
      while (cgroups.length < n) {
        const cg = createContainerCgroup(parent);
        cgroups.push(cg);
        const script = `${cg.procsFiles.map((f) => `echo $$ > ${f}`).join(" && ")} && exec sleep 3600`;
        sleepers.push(spawn("sh", ["-c", script], { stdio: "ignore" }));
      }
      // New container parents show up at the exporter's next full walk (fullWalkSeconds): wait for it.
      await waitContainers(boxUrl, n);
      const [b, o] = await measurePair([
        { url: boxUrl, pid: box.pid as number },
        { url: neUrl, pid: ne.pid as number },
      ]);
      const line = `| ${n} | ${b.p50.toFixed(1)} | ${b.p99.toFixed(1)} | ${b.cpuMs.toFixed(2)} | ${b.series} | ${o.p50.toFixed(1)} | ${o.p99.toFixed(1)} | ${o.cpuMs.toFixed(2)} | ${o.series} | ${(b.p50 / o.p50).toFixed(2)} | ${(b.cpuMs / o.cpuMs).toFixed(2)} |`;
      rows.push(line);
      process.stderr.write(`${line}\n`);
      if (OUTLIERS > 0)
        process.stderr.write(`  slowest boxscope: ${b.outliers}\n  slowest node_exporter: ${o.outliers}\n`);
    }
    console.log(
      `load average at start / end: ${loadStart} / ${readFileSync("/proc/loadavg", "utf8").trim()}`,
    );
    console.log(
      `scrapes per point: ${SCRAPES}; host: ${readFileSync("/proc/cpuinfo", "utf8").match(/^model name\s*:\s*(.*)$/m)?.[1]}, ${
        readFileSync("/proc/cpuinfo", "utf8").match(/^processor/gm)?.length
      } CPUs`,
    );
    console.log(
      "| containers | boxscope p50 ms | p99 ms | CPU ms/scrape | series | node_exporter p50 ms | p99 ms | CPU ms/scrape | series | p50 ratio | CPU ratio |",
    );
    console.log("|---|---|---|---|---|---|---|---|---|---|---|");
    for (const r of rows) console.log(r);
  } finally {
    cleanup();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
