/**
 * Scrape cost of `boxscope exporter` beside its anchors, in one run, with 10, 100 and 500 live
 * container-like cgroups (`/boxscope-bench-exporter-<rand>/<64hex>` in every hierarchy, one
 * sleeping process each):
 *   - node_exporter (Debian prometheus-node-exporter, processes and conntrack collectors on): a
 *     host exporter, the cost floor of a scrape that reads /proc;
 *   - cAdvisor: its own collection code (github.com/google/cadvisor/lib, pinned in
 *     bench/exporter/cadvisor/go.mod, built by its build.sh with the machine's Go) with only the
 *     raw cgroup factory, limited to the bench's parent cgroup (`-docker_only
 *     -raw_cgroup_prefix_whitelist /<parent>/`), so both read the same containers.
 * All exporters are scraped in turn in one loop, the order rotating each round, so a burst of load
 * from elsewhere on the machine lands on all of them. Each runs as a child process; CPU per scrape =
 * its utime+stime delta over the scrape loop ÷ scrapes (background work such as cAdvisor's
 * housekeeping or boxscope's cgroup walk included); idle CPU = the same delta over a window without
 * scrapes, per second. Prints a Markdown table for docs/benchmarks.md, the container metric families
 * of each exporter, and the targets of bench/exporter/targets.ts. Needs root.
 *
 *   npm run bench:exporter [-- --scrapes 200 --counts 10,100,500 --anchors node_exporter,cadvisor --idle-seconds 10]
 *     [--outliers N] [--node-args "--cpu-prof --cpu-prof-dir=DIR"] [--cadvisor-args "-cpuprofile=FILE"]
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
import { containerFamilies, containersSeen, familiesCoveringAll } from "./families.js";
import { EXPORTER_TARGETS } from "./targets.js";

const args = process.argv.slice(2);
const arg = (name: string, def: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? (args[i + 1] ?? def) : def;
};
const SCRAPES = Number(arg("scrapes", "200"));
/** Unmeasured rounds of the scrape loop between the idle window and the measured ones. */
const WARMUP_ROUNDS = 3;
const COUNTS = arg("counts", "10,100,500").split(",").map(Number);
const ANCHORS = arg("anchors", "node_exporter,cadvisor")
  .split(",")
  .filter((a) => a !== "");
/** Seconds without scrapes before each loop, to measure each exporter's background CPU. */
const IDLE_SECONDS = Number(arg("idle-seconds", "10"));
/** Extra node flags for the exporter child (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p" or "--trace-gc"), space-separated. */
const NODE_ARGS = arg("node-args", "")
  .split(" ")
  .filter((a) => a !== "");
/** Extra flags for the cAdvisor anchor (e.g. "-cpuprofile=/tmp/cadvisor.prof"), space-separated. */
const CADVISOR_ARGS = arg("cadvisor-args", "")
  .split(" ")
  .filter((a) => a !== "");
/** Print the slowest scrapes (index, ms since the loop began, latency) for each point. */
const OUTLIERS = Number(arg("outliers", "0"));
const CLK_TCK = 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(rest[11]) + Number(rest[12])) / CLK_TCK; // utime + stime
}

/** Alive and not yet a zombie (a child that exited stays in /proc until this process reaps it). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

interface Target {
  readonly name: string;
  readonly url: string;
  readonly child: ChildProcess;
  /** Whether it reports containers (node_exporter does not): waited for and counted. */
  readonly containers: boolean;
  /** Its last stderr lines, shown when it fails to come up. */
  readonly stderrTail: string[];
}

async function waitUp(t: Target): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (t.child.exitCode !== null)
      throw new Error(`${t.name} exited (${t.child.exitCode}): ${t.stderrTail.join("\n")}`);
    try {
      if ((await fetch(t.url)).ok) return;
    } catch {}
    await sleep(100);
  }
  throw new Error(`${t.url} (${t.name}) did not come up within 30 s: ${t.stderrTail.join("\n")}`);
}

/** Until the exporter has series for every bench container (boxscope: its next full walk; cAdvisor: its inotify watch). */
async function waitContainers(t: Target, ids: readonly string[]): Promise<void> {
  let seen = 0;
  for (let i = 0; i < 600; i++) {
    seen = containersSeen(await (await fetch(t.url)).text(), ids);
    if (seen >= ids.length) return;
    await sleep(100);
  }
  throw new Error(`${t.name} showed ${seen} of ${ids.length} containers after 60 s`);
}

interface Result {
  outliers: string;
  /** The last scrape's body. */
  body: string;
  p50: number;
  p99: number;
  cpuMs: number;
  idleCpuMsPerS: number;
  bytes: number;
  series: number;
  /** Families with a series for every bench container. */
  families: string[];
}

/**
 * Scrapes all targets in turn, rotating the order each round (A B C, B C A, C A B, ...), so a burst
 * of load from elsewhere on the machine lands on all of them instead of on whichever was being
 * measured at the time.
 */
async function measure(targets: readonly Target[], ids: readonly string[]): Promise<Result[]> {
  for (const t of targets) for (let i = 0; i < 5; i++) await (await fetch(t.url)).text(); // warm-up
  const pid = (t: Target) => t.child.pid as number;
  const idle0 = targets.map((t) => cpuSeconds(pid(t)));
  await sleep(IDLE_SECONDS * 1000);
  const idle = targets.map((t, k) => cpuSeconds(pid(t)) - (idle0[k] as number));
  const lat: number[][] = targets.map(() => []);
  const at: number[][] = targets.map(() => []);
  const last: string[] = targets.map(() => "");
  // A few unmeasured rounds of the loop first: after the idle window an exporter that collects
  // ahead of its scraper's cadence (boxscope) has to learn it again, as after any pause.
  for (let i = 0; i < WARMUP_ROUNDS; i++)
    for (let j = 0; j < targets.length; j++)
      await (await fetch((targets[(i + j) % targets.length] as Target).url)).text();
  const loopStart = process.hrtime.bigint();
  const cpu0 = targets.map((t) => cpuSeconds(pid(t)));
  for (let i = 0; i < SCRAPES; i++) {
    for (let j = 0; j < targets.length; j++) {
      const k = (i + j) % targets.length;
      const t0 = process.hrtime.bigint();
      at[k]?.push(Number(t0 - loopStart) / 1e6);
      const body = await (await fetch((targets[k] as Target).url)).text();
      lat[k]?.push(Number(process.hrtime.bigint() - t0) / 1e6);
      last[k] = body;
    }
  }
  const cpu = targets.map((t, k) => cpuSeconds(pid(t)) - (cpu0[k] as number));
  return targets.map((t, k) => {
    const l = lat[k] as number[];
    const outliers = l
      .map((ms, i) => ({ ms, i }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, OUTLIERS)
      .map((o) => `#${o.i}@${((at[k]?.[o.i] ?? 0) / 1000).toFixed(1)}s=${o.ms.toFixed(1)}ms`)
      .join(" ");
    const sorted = [...l].sort((a, b) => a - b);
    const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
    const body = last[k] as string;
    return {
      outliers,
      p50: q(0.5),
      p99: q(0.99),
      cpuMs: ((cpu[k] as number) * 1000) / SCRAPES,
      idleCpuMsPerS: ((idle[k] as number) * 1000) / IDLE_SECONDS,
      bytes: body.length,
      body,
      series: body.split("\n").filter((line) => line !== "" && !line.startsWith("#")).length,
      families: t.containers ? familiesCoveringAll(containerFamilies(body, ids), ids.length) : [],
    };
  });
}

/** Builds the cAdvisor anchor (bench/exporter/cadvisor/build.sh) and returns the binary's path. */
function buildCadvisor(): string {
  const script = join(repoRoot, "bench/exporter/cadvisor/build.sh");
  const r = spawnSync("bash", [script], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const bin = r.stdout.trim().split("\n").pop() ?? "";
  if (r.status !== 0 || !existsSync(bin)) throw new Error(`${script} failed (exit ${r.status})`);
  return bin;
}

function startTarget(
  name: string,
  cmd: string,
  argv: string[],
  port: number,
  opts: { containers: boolean; stdout?: "inherit"; env?: NodeJS.ProcessEnv },
): Target {
  const child = spawn(cmd, argv, {
    stdio: ["ignore", opts.stdout ?? "ignore", "pipe"],
    env: opts.env ?? process.env,
  });
  const stderrTail: string[] = [];
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderrTail.push(...chunk.split("\n").filter((l) => l !== ""));
    stderrTail.splice(0, Math.max(0, stderrTail.length - 20));
  });
  return { name, url: `http://127.0.0.1:${port}/metrics`, child, containers: opts.containers, stderrTail };
}

const ratio = (a: number, b: number) => (b > 0 ? (a / b).toFixed(2) : "n/a");

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("bench:exporter needs root (it creates cgroups)");
  const unknown = ANCHORS.filter((a) => a !== "node_exporter" && a !== "cadvisor");
  if (unknown.length > 0)
    throw new Error(`--anchors: unknown ${unknown.join(",")} (node_exporter, cadvisor)`);
  const cadvisorBin = ANCHORS.includes("cadvisor") ? buildCadvisor() : "";
  const parent = `boxscope-bench-exporter-${randomId()}`;
  const loadStart = readFileSync("/proc/loadavg", "utf8").trim();
  const cgroups: TestContainerCgroup[] = [];
  const sleepers: ChildProcess[] = [];
  const targets: Target[] = [];
  const cleanup = () => {
    // SIGTERM first so an exporter run with --cpu-prof can write its profile before it exits.
    for (const t of targets) t.child.kill("SIGTERM");
    for (
      let i = 0;
      i < 50 && targets.some((t) => t.child.exitCode === null && running(t.child.pid as number));
      i++
    )
      spawnSync("sleep", ["0.1"]);
    for (const c of [...targets.map((t) => t.child), ...sleepers]) c.kill("SIGKILL");
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
    targets.push(
      startTarget(
        "boxscope",
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
        boxPort,
        {
          containers: true,
          ...(NODE_ARGS.length > 0 ? { stdout: "inherit" as const } : {}),
          env: { ...process.env, BOXSCOPE_LOG_LEVEL: "warn" },
        },
      ),
    );
    if (ANCHORS.includes("node_exporter")) {
      const port = await freePort();
      targets.push(
        startTarget(
          "node_exporter",
          "prometheus-node-exporter",
          [`--web.listen-address=127.0.0.1:${port}`, "--collector.processes", "--collector.conntrack"],
          port,
          { containers: false },
        ),
      );
    }
    if (cadvisorBin !== "") {
      const port = await freePort();
      targets.push(
        startTarget(
          "cAdvisor",
          cadvisorBin,
          [
            `-listen=127.0.0.1:${port}`,
            "-docker_only",
            `-raw_cgroup_prefix_whitelist=/${parent}/`,
            "-v=0",
            ...CADVISOR_ARGS,
          ],
          port,
          { containers: true },
        ),
      );
    }
    for (const t of targets) await waitUp(t);
    const rows: string[] = [];
    const familyLines: string[] = [];
    for (const n of COUNTS) {
      while (cgroups.length < n) {
        const cg = createContainerCgroup(parent, { unifiedOnHybrid: true });
        cgroups.push(cg);
        const script = `${cg.procsFiles.map((f) => `echo $$ > ${f}`).join(" && ")} && exec sleep 3600`;
        sleepers.push(spawn("sh", ["-c", script], { stdio: "ignore" }));
      }
      const ids = cgroups.map((c) => c.id);
      for (const t of targets) if (t.containers) await waitContainers(t, ids);
      const results = await measure(targets, ids);
      const box = results[0] as Result;
      results.forEach((r, k) => {
        const t = targets[k] as Target;
        const vs = k === 0 ? "| — | —" : `| ${ratio(box.p50, r.p50)} | ${ratio(box.cpuMs, r.cpuMs)}`;
        const line = `| ${n} | ${t.name} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.cpuMs.toFixed(2)} | ${r.idleCpuMsPerS.toFixed(2)} | ${r.series} | ${t.containers ? r.families.length : "—"} ${vs} |`;
        rows.push(line);
        process.stderr.write(`${line}\n`);
        if (OUTLIERS > 0) process.stderr.write(`  slowest ${t.name}: ${r.outliers}\n`);
        // boxscope's own account of its collections so far (warm-up and earlier points included).
        const collections = [
          ...r.body.matchAll(/^boxscope_exporter_collections_total\{trigger="(\w+)"\} (\d+)$/gm),
        ];
        if (collections.length > 0)
          process.stderr.write(
            `  ${t.name} collections: ${collections.map((m) => `${m[1]} ${m[2]}`).join(", ")}\n`,
          );
        if (t.containers)
          familyLines.push(`${n} containers, ${t.name} (${r.families.length}): ${r.families.join(" ")}`);
      });
      const cad = targets.findIndex((t) => t.name === "cAdvisor");
      if (n === EXPORTER_TARGETS.containers && cad >= 0) {
        const c = results[cad] as Result;
        const cpuRatio = box.cpuMs / c.cpuMs;
        familyLines.push(
          `targets at ${n} containers: CPU per scrape ≤ ${EXPORTER_TARGETS.maxCpuRatioToCadvisor}× cAdvisor's: ${cpuRatio.toFixed(2)} ${cpuRatio <= EXPORTER_TARGETS.maxCpuRatioToCadvisor ? "met" : "MISSED"}; ` +
            `p99 < ${EXPORTER_TARGETS.maxP99Ms} ms: ${box.p99.toFixed(1)} ${box.p99 < EXPORTER_TARGETS.maxP99Ms ? "met" : "MISSED"}; ` +
            `container families ≥ cAdvisor's: ${box.families.length} vs ${c.families.length} ${box.families.length >= c.families.length ? "met" : "MISSED"}`,
        );
      }
    }
    console.log(
      `load average at start / end: ${loadStart} / ${readFileSync("/proc/loadavg", "utf8").trim()}`,
    );
    if (cadvisorBin !== "") {
      const mod = readFileSync(join(repoRoot, "bench/exporter/cadvisor/go.mod"), "utf8");
      console.log(`cAdvisor: github.com/google/cadvisor/lib ${/cadvisor\/lib (\S+)/.exec(mod)?.[1]}`);
    }
    console.log(
      `scrapes per point: ${SCRAPES}, idle window: ${IDLE_SECONDS} s; host: ${readFileSync("/proc/cpuinfo", "utf8").match(/^model name\s*:\s*(.*)$/m)?.[1]}, ${
        readFileSync("/proc/cpuinfo", "utf8").match(/^processor/gm)?.length
      } CPUs`,
    );
    console.log(
      "| containers | exporter | p50 ms | p99 ms | CPU ms/scrape | idle CPU ms/s | series | container families | boxscope ÷ this, p50 | boxscope ÷ this, CPU |",
    );
    console.log("|---|---|---|---|---|---|---|---|---|---|");
    for (const r of rows) console.log(r);
    console.log("");
    for (const l of familyLines) console.log(l);
  } finally {
    cleanup();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
