/**
 * bench/shim: open+read+close latency and throughput of the container views through boxscope's
 * FUSE mount and through LXCFS (the anchor), mounted side by side, read from the same cgroups in
 * the same run, plus the kernel's own /proc for scale. Readers are a small C program (reader.c)
 * built here with `cc`, so the numbers are the filesystems', not a JavaScript loop's.
 *
 *   npm run bench:shim            (root, /dev/fuse, lxcfs, cc)
 *   BENCH_READS=5000 npm run bench:shim
 *
 * The cgroups are read once and left to settle (SETTLE_MS) before any measurement.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { SETTLE_MS } from "../../shim/render.js";
import { waitFor } from "../../test/helpers/wait.js";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const READS_ONE = Number(process.env.BENCH_READS ?? 20_000);
const READS_EACH_OF_32 = Math.max(100, Math.round(READS_ONE / 8));
const CONTROLLERS = ["memory", "cpu", "cpuacct", "cpuset", "pids", "blkio"];
const CGROUPS = 16;
const FILES = ["proc/meminfo", "proc/stat"] as const;

interface Target {
  name: string;
  root: string;
  pid?: number;
}

interface Result {
  target: string;
  file: string;
  readers: number;
  reads: number;
  p50us: number;
  p99us: number;
  readsPerSec: number;
  cpuSecPer10k?: number;
}

function fail(msg: string): never {
  console.error(`bench:shim: ${msg}`);
  process.exit(1);
}

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, USER_HZ
}

function isFuseMounted(dir: string): boolean {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .some((l) => l.split(" ")[4] === dir && / - fuse/.test(l));
}

function runReaders(
  reader: string,
  workDir: string,
  path: string,
  cgroupDirs: string[][],
  readers: number,
  reads: number,
): Promise<{ latencies: Uint32Array; wallSec: number }> {
  return new Promise((resolveRun, reject) => {
    const started = process.hrtime.bigint();
    const outs: string[] = [];
    const children: ChildProcess[] = [];
    let left = readers;
    for (let i = 0; i < readers; i++) {
      const out = join(workDir, `lat-${i}.bin`);
      outs.push(out);
      const join_ = (cgroupDirs[i % cgroupDirs.length] ?? [])
        .map((d) => `echo $$ > ${d}/cgroup.procs`)
        .join(" && ");
      const child = spawn("sh", ["-c", `${join_} && exec ${reader} ${path} ${reads} ${out}`], {
        stdio: ["ignore", "ignore", "inherit"],
      });
      children.push(child);
      child.once("exit", (code) => {
        if (code !== 0) reject(new Error(`reader of ${path} exited ${code}`));
        if (--left === 0) {
          const wallSec = Number(process.hrtime.bigint() - started) / 1e9;
          const all = new Uint32Array(readers * reads);
          outs.forEach((o, k) => {
            const buf = readFileSync(o);
            all.set(new Uint32Array(buf.buffer, buf.byteOffset, reads), k * reads);
          });
          resolveRun({ latencies: all.sort(), wallSec });
        }
      });
    }
  });
}

const pct = (sorted: Uint32Array, p: number): number =>
  (sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0) / 1000;

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) fail("needs root (FUSE mounts, cgroups)");
  if (!existsSync("/dev/fuse")) fail("needs /dev/fuse");
  if (spawnSync("lxcfs", ["--version"]).error) fail("needs lxcfs (Debian: apt-get install lxcfs)");
  const work = mkdtempSync(join(tmpdir(), "boxscope-bench-shim-"));
  const reader = join(work, "reader");
  const cc = spawnSync("cc", ["-O2", "-o", reader, join(repo, "bench/shim/reader.c")], { stdio: "inherit" });
  if (cc.status !== 0) fail("cannot build bench/shim/reader.c with cc");

  const boxDir = join(work, "boxscope");
  const lxDir = join(work, "lxcfs");
  mkdirSync(boxDir);
  mkdirSync(lxDir);
  const box = spawn(
    process.execPath,
    [join(repo, "bin/boxscope.js"), "shim", "mount", "--mountpoint", boxDir],
    {
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, BOXSCOPE_LOG_LEVEL: "warn" },
    },
  );
  const lx = spawn("lxcfs", [lxDir], { stdio: ["ignore", "ignore", "ignore"] });

  const tag = randomBytes(3).toString("hex");
  const groups: string[][] = [];
  const cleanup = (): void => {
    box.kill("SIGTERM");
    lx.kill("SIGTERM");
    spawnSync("umount", ["-l", lxDir]);
    for (const dirs of groups)
      for (const d of dirs)
        for (let i = 0; i < 20 && existsSync(d); i++) {
          try {
            rmdirSync(d);
          } catch {
            spawnSync("sleep", ["0.1"]);
          }
        }
    rmSync(work, { recursive: true, force: true });
  };
  process.on("exit", cleanup);
  try {
    await waitFor("both mounts", () => isFuseMounted(boxDir) && isFuseMounted(lxDir));
    for (let g = 0; g < CGROUPS; g++) {
      const dirs = CONTROLLERS.map((c) => `/sys/fs/cgroup/${c}/boxscope-bench-shim-${tag}-${g}`);
      for (const d of dirs) mkdirSync(d);
      const cpuset = dirs[3] as string;
      writeFileSync(join(cpuset, "cpuset.cpus"), readFileSync("/sys/fs/cgroup/cpuset/cpuset.cpus", "utf8"));
      writeFileSync(join(cpuset, "cpuset.mems"), readFileSync("/sys/fs/cgroup/cpuset/cpuset.mems", "utf8"));
      writeFileSync(join(dirs[0] as string, "memory.limit_in_bytes"), String((256 + g) << 20));
      groups.push(dirs);
    }
    const targets: Target[] = [
      { name: "kernel /proc", root: "/" },
      { name: "boxscope", root: boxDir, pid: box.pid as number },
      { name: "lxcfs", root: lxDir, pid: lx.pid as number },
    ];
    // Sanity: both serve the cgroup's limit to a reader inside it.
    const check = spawnSync(
      "sh",
      [
        "-c",
        `${(groups[0] ?? []).map((d) => `echo $$ > ${d}/cgroup.procs`).join(" && ")} && grep MemTotal ${boxDir}/proc/meminfo ${lxDir}/proc/meminfo`,
      ],
      { encoding: "utf8" },
    );
    console.log(`sanity (cgroup 0, limit 256 MiB):\n${check.stdout}`);
    // A container's first SETTLE_MS are rendered afresh on every open (its runtime may still be
    // writing its limits): measured here is a running container's steady state, as `top` sees it.
    for (const dirs of groups) {
      const join_ = dirs.map((d) => `echo $$ > ${d}/cgroup.procs`).join(" && ");
      spawnSync("sh", ["-c", `${join_} && cat ${FILES.map((f) => join(boxDir, f)).join(" ")} >/dev/null`]);
    }
    await new Promise((r) => setTimeout(r, SETTLE_MS + 500));

    const results: Result[] = [];
    for (const readers of [1, 32]) {
      const reads = readers === 1 ? READS_ONE : READS_EACH_OF_32;
      for (const file of FILES) {
        for (const t of targets) {
          const path = join(t.root, file);
          await runReaders(reader, work, path, groups, readers, 200); // warm-up
          const cpu0 = t.pid ? cpuSeconds(t.pid) : 0;
          const { latencies, wallSec } = await runReaders(reader, work, path, groups, readers, reads);
          const cpu1 = t.pid ? cpuSeconds(t.pid) : 0;
          const total = readers * reads;
          results.push({
            target: t.name,
            file,
            readers,
            reads: total,
            p50us: pct(latencies, 0.5),
            p99us: pct(latencies, 0.99),
            readsPerSec: total / wallSec,
            ...(t.pid ? { cpuSecPer10k: ((cpu1 - cpu0) * 10_000) / total } : {}),
          });
        }
      }
    }
    printReport(results);
  } finally {
    cleanup();
    process.removeListener("exit", cleanup);
  }
}

function printReport(results: Result[]): void {
  const f = (n: number, d = 1): string => n.toFixed(d);
  console.log("| readers | file | target | p50 µs | p99 µs | reads/s | daemon CPU s / 10k reads |");
  console.log("|---|---|---|---|---|---|---|");
  for (const r of results) {
    console.log(
      `| ${r.readers} | ${r.file} | ${r.target} | ${f(r.p50us)} | ${f(r.p99us)} | ${f(r.readsPerSec, 0)} | ${r.cpuSecPer10k === undefined ? "" : f(r.cpuSecPer10k, 2)} |`,
    );
  }
  console.log("\np50 ratios boxscope / kernel /proc (one reader: the kernel has no daemon to wake):");
  for (const file of FILES) {
    const b = results.find((r) => r.target === "boxscope" && r.file === file && r.readers === 1);
    const k = results.find((r) => r.target === "kernel /proc" && r.file === file && r.readers === 1);
    if (b && k) console.log(`  1 reader ${file}: ${f(b.p50us / k.p50us, 2)}×`);
  }
  console.log("\nratios boxscope / lxcfs (lower is better):");
  for (const readers of [1, 32]) {
    for (const file of FILES) {
      const b = results.find((r) => r.target === "boxscope" && r.file === file && r.readers === readers);
      const l = results.find((r) => r.target === "lxcfs" && r.file === file && r.readers === readers);
      if (!b || !l) continue;
      const verdict = b.p50us <= l.p50us && b.p99us <= 1.5 * l.p99us ? "PASS" : "FAIL";
      console.log(
        `  ${readers} reader(s) ${file}: p50 ${f(b.p50us / l.p50us, 2)}×, p99 ${f(b.p99us / l.p99us, 2)}×, reads/s ${f(b.readsPerSec / l.readsPerSec, 2)}×, CPU/read ${f((b.cpuSecPer10k ?? 0) / (l.cpuSecPer10k || 1), 2)}×  [${verdict}: p50 ≤ 1×, p99 ≤ 1.5×]`,
      );
    }
  }
}

await main();
