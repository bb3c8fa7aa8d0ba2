/**
 * Cost of the views on this machine, next to the anchors in the same run:
 * - per view: the kernel's own /proc file and LXCFS 5 (Debian) serving the same view to a process
 *   in the same cgroup, both timed as open+read+close by a reader process inside the cgroup; and
 *   boxscope's renderForPid for that process, cold (share window 0: every render re-reads the
 *   cgroup and host files) and with the default 100 ms share window (a container polling /proc in
 *   a tight loop). boxscope's figures exclude the FUSE round trip, which the mount adds.
 * - one load-average sampler pass over 100 and 1,000 real cgroups (created under a test parent in
 *   the v1 memory hierarchy, one `sleep` process in each), with the longest synchronous slice: the
 *   longest the event loop (and so the FUSE reads) can be held by the sampler.
 * Needs root and cgroup v1 (this hybrid host); LXCFS columns show n/a without lxcfs.
 * Run: npm run bench:views  (or: npm run build && node dist/bench/views/run.js [--iterations N])
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { handleForPath } from "../../cgroup/handle.js";
import { createLoadavgSampler } from "../../cgroup/loadavg/sampler.js";
import { readCgroupMounts } from "../../cgroup/mounts.js";
import { countTasks, readCgroupPids } from "../../cgroup/tasks.js";
import { createViewRenderer, viewPathsOfCpu } from "../../shim/render.js";

const args = process.argv.slice(2);
const ITERATIONS = Number(args[args.indexOf("--iterations") + 1] ?? "") || 2000;
const SIZES = [100, 1000];
const CONTROLLERS = ["memory", "cpu", "cpuacct", "cpuset", "pids", "blkio"];
const ROOT = "/sys/fs/cgroup";

interface Percentiles {
  p50: number;
  p99: number;
}

function percentiles(samplesUs: number[]): Percentiles {
  const s = [...samplesUs].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
  return { p50: at(0.5), p99: at(0.99) };
}

function timeEach(iterations: number, fn: () => void): Percentiles {
  for (let i = 0; i < Math.min(100, iterations); i++) fn();
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  return percentiles(samples);
}

/** A script run by a reader inside the cgroup: open+read+close each file, µs percentiles as JSON. */
const READER = `
const fs = require("node:fs");
const [iterations, ...files] = process.argv.slice(1);
const out = {};
for (const f of files) {
  const n = Number(iterations);
  for (let i = 0; i < 50; i++) fs.readFileSync(f);
  const s = [];
  for (let i = 0; i < n; i++) { const t0 = process.hrtime.bigint(); fs.readFileSync(f); s.push(Number(process.hrtime.bigint() - t0) / 1000); }
  s.sort((a, b) => a - b);
  out[f] = { p50: s[Math.floor(0.5 * n)], p99: s[Math.min(n - 1, Math.floor(0.99 * n))] };
}
console.log(JSON.stringify(out));
`;

function joinScript(path: string): string {
  return CONTROLLERS.map((c) => `echo $$ > ${join(ROOT, c, path)}/cgroup.procs`).join(" && ");
}

function readInside(path: string, files: string[], iterations: number): Record<string, Percentiles> {
  const res = spawnSync(
    "sh",
    [
      "-c",
      `${joinScript(path)} && exec "$0" -e "$1" ${iterations} ${files.join(" ")}`,
      process.execPath,
      READER,
    ],
    { encoding: "utf8", maxBuffer: 1 << 20 },
  );
  if (res.status !== 0) throw new Error(`reader failed: ${res.stderr}`);
  return JSON.parse(res.stdout) as Record<string, Percentiles>;
}

const fmt = (p: Percentiles | undefined): string =>
  p === undefined ? "n/a" : `${p.p50.toFixed(1)} / ${p.p99.toFixed(1)}`;

function killAll(dir: string): void {
  for (let attempt = 0; attempt < 50; attempt++) {
    const pids = existsSync(join(dir, "cgroup.procs"))
      ? readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean)
      : [];
    if (pids.length === 0) return;
    for (const p of pids) {
      try {
        process.kill(Number(p), "SIGKILL");
      } catch {
        // gone
      }
    }
    spawnSync("sleep", ["0.05"]);
  }
}

async function benchViews(): Promise<void> {
  const path = `/boxscope-test-views-bench-${randomBytes(4).toString("hex")}`;
  for (const c of CONTROLLERS) mkdirSync(join(ROOT, c, path));
  const tmp = mkdtempSync("/tmp/boxscope-test-views-bench-");
  let lxcfs: ChildProcess | undefined;
  let anchor: ChildProcess | undefined;
  const mnt = join(tmp, "mnt");
  try {
    writeFileSync(
      join(ROOT, "cpuset", path, "cpuset.cpus"),
      readFileSync(join(ROOT, "cpuset/cpuset.cpus"), "utf8"),
    );
    writeFileSync(
      join(ROOT, "cpuset", path, "cpuset.mems"),
      readFileSync(join(ROOT, "cpuset/cpuset.mems"), "utf8"),
    );
    writeFileSync(join(ROOT, "memory", path, "memory.limit_in_bytes"), String(1024 ** 3));
    anchor = spawn("sh", ["-c", `${joinScript(path)} && exec sleep 600`], { stdio: "ignore" });
    await new Promise((r) => setTimeout(r, 200));
    const pid = anchor.pid as number;

    const hasLxcfs = spawnSync("sh", ["-c", "command -v lxcfs"]).status === 0 && existsSync("/dev/fuse");
    if (hasLxcfs) {
      mkdirSync(mnt);
      lxcfs = spawn("lxcfs", ["-f", "-p", join(tmp, "lxcfs.pid"), mnt], { stdio: "ignore" });
      for (let i = 0; i < 100 && !existsSync(join(mnt, "proc/meminfo")); i++)
        await new Promise((r) => setTimeout(r, 50));
    }
    // One path per view (CPU 0's for the CPU directory's files), those the kernel has here.
    const views = viewPathsOfCpu(0).filter((v) => existsSync(`/${v}`));
    const lxcfsViews = views.filter((v) => hasLxcfs && existsSync(join(mnt, v)));
    const kernel = readInside(
      path,
      views.map((v) => `/${v}`),
      ITERATIONS,
    );
    const lx =
      lxcfsViews.length > 0
        ? readInside(
            path,
            lxcfsViews.map((v) => join(mnt, v)),
            ITERATIONS,
          )
        : {};

    const cold = createViewRenderer({ shareWindowMs: 0 });
    const warm = createViewRenderer();
    console.log(`\nPer view, µs p50 / p99 (${ITERATIONS} reads each; reader in cgroup ${path})\n`);
    const rows: string[][] = [
      ["view", "kernel /proc", "LXCFS 5", "boxscope cold", "boxscope 100 ms window", "LXCFS ÷ boxscope cold"],
    ];
    for (const v of views) {
      const c = timeEach(ITERATIONS, () => cold.renderForPid(v, pid));
      const w = timeEach(ITERATIONS, () => warm.renderForPid(v, pid));
      const l = lx[join(mnt, v)];
      rows.push([
        v,
        fmt(kernel[`/${v}`]),
        fmt(l),
        fmt(c),
        fmt(w),
        l === undefined ? "n/a" : `${(l.p50 / c.p50).toFixed(2)}×`,
      ]);
    }
    printTable(rows);
  } finally {
    if (lxcfs !== undefined) {
      spawnSync("fusermount", ["-u", mnt]);
      if (lxcfs.exitCode === null) lxcfs.kill("SIGTERM");
    }
    anchor?.kill("SIGKILL");
    for (const c of CONTROLLERS) {
      killAll(join(ROOT, c, path));
      try {
        rmdirSync(join(ROOT, c, path));
      } catch {
        // best effort
      }
    }
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function benchSampler(): Promise<void> {
  const parent = `/boxscope-test-views-bench-${randomBytes(4).toString("hex")}`;
  const parentDir = join(ROOT, "memory", parent);
  mkdirSync(parentDir);
  const mounts = readCgroupMounts();
  const rows: string[][] = [
    [
      "cgroups (1 process each)",
      "pass ms (median of 3)",
      "longest slice ms",
      "slowest cgroup ms",
      "slices",
      "sampled",
    ],
  ];
  try {
    for (const size of SIZES) {
      const paths: string[] = [];
      for (let i = 0; i < size; i++) {
        const p = `${parent}/c${String(i).padStart(4, "0")}`;
        mkdirSync(join(ROOT, "memory", p));
        paths.push(p);
      }
      // One shell forks every sleeper straight into its cgroup.
      const script = paths
        .map((p) => `sh -c 'echo $$ > ${join(ROOT, "memory", p)}/cgroup.procs; exec sleep 600' &`)
        .join("\n");
      spawnSync("sh", ["-c", script], { stdio: "ignore" });
      // Let every `sh` finish exec'ing into sleep: /proc reads of a process mid-exec wait for it.
      await new Promise((r) => setTimeout(r, 1000));
      const sampler = createLoadavgSampler({
        listCgroups: () => paths,
        countTasks: (p) => {
          const h = handleForPath(mounts, p);
          const pids = readCgroupPids(h);
          return pids.length === 0 && !existsSync(join(ROOT, "memory", p)) ? undefined : countTasks(pids);
        },
      });
      const passes = [];
      for (let i = 0; i < 3; i++) passes.push(await sampler.runPass());
      passes.sort((a, b) => a.durationMs - b.durationMs);
      const mid = passes[1] ?? passes[0];
      if (mid === undefined) throw new Error("no pass");
      rows.push([
        String(size),
        mid.durationMs.toFixed(1),
        Math.max(...passes.map((p) => p.longestSliceMs)).toFixed(2),
        Math.max(...passes.map((p) => p.slowestCgroupMs)).toFixed(2),
        String(mid.slices),
        String(mid.sampled),
      ]);
      for (const p of paths) killAll(join(ROOT, "memory", p));
      for (const p of paths) rmdirSync(join(ROOT, "memory", p));
    }
    console.log("\nLoad-average sampler, one pass (real v1 memory cgroups under a test parent)\n");
    printTable(rows);
  } finally {
    try {
      for (const name of readdirNames(parentDir)) {
        killAll(join(parentDir, name));
        rmdirSync(join(parentDir, name));
      }
      rmdirSync(parentDir);
    } catch {
      // best effort
    }
  }
}

function readdirNames(dir: string): string[] {
  try {
    return spawnSync("find", [dir, "-mindepth", "1", "-maxdepth", "1", "-type", "d", "-printf", "%f\n"], {
      encoding: "utf8",
    })
      .stdout.split("\n")
      .filter(Boolean);
  } catch {
    return [];
  }
}

function printTable(rows: string[][]): void {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  const line = (r: string[]): string => `| ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  console.log(line(rows[0] ?? []));
  console.log(`| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`);
  for (const r of rows.slice(1)) console.log(line(r));
}

if (process.getuid?.() !== 0 || !existsSync(join(ROOT, "memory/cgroup.procs"))) {
  console.error("bench/views needs root and the cgroup v1 hierarchies of this hybrid host");
  process.exit(2);
}
if (!args.includes("--sampler-only")) await benchViews();
await benchSampler();
