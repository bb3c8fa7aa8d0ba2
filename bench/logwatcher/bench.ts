// bench:logwatcher — new-file → link latency while 1,000 containers each create 10 files, and the
// resident memory of the watcher with those 10,000 files watched. Runs boxscope's logwatcher (the
// real CLI, a child process) and the anchor (bench/logwatcher/anchor.sh: inotifywait + ln -s, what
// kiver-guard did) on the same workload in the same run, and prints both and their ratios.
// Usage: npm run bench:logwatcher [-- CONTAINERS FILES_PER_CONTAINER [CONTAINERS_PER_SECOND|-] [existing]]
//        [--spool-parent DIR]... [--no-anchor]
// Without a rate, 100 containers write at once as fast as the machine lets them (a storm); with
// one, containers start at that pace (each still writes its files back to back). A fifth argument
// "existing" creates the container directories before the watcher starts, so only the files are
// new (the steady state of running containers), e.g. `-- 1000 10 - existing`.
// `--spool-parent DIR` (repeatable) puts the spool under DIR; by default boxscope runs twice in the
// same run, spool on the temp dir's filesystem (the log tree's, ext4 here) and under /dev/shm
// (tmpfs, like /run on a host), because symlink(2) into a 10,000-entry ext4 directory is the
// bottleneck of a storm. The anchor uses the first placement.
// After each run the bench prints the CPU cost of one symlink(2) into a fresh directory on that
// spool's filesystem (2,000 links with targets as long as the run's): on the development VM's
// ext4 it swings between ~15 and ~750 µs with other I/O on the disk, and it bounds a storm.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, symlinkSync, watch } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { linkNameFor } from "../../logwatcher/spool/naming.js";
import { repoRoot } from "../../test/helpers/paths.js";

const positional: string[] = [];
const spoolParents: string[] = [];
let skipAnchor = false;
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i] ?? "";
  if (a === "--no-anchor") skipAnchor = true;
  else if (a === "--spool-parent") spoolParents.push(process.argv[++i] ?? "");
  else if (a.startsWith("--spool-parent=")) spoolParents.push(a.slice("--spool-parent=".length));
  else positional.push(a);
}
if (spoolParents.length === 0) {
  spoolParents.push(tmpdir());
  if (existsSync("/dev/shm")) spoolParents.push("/dev/shm");
}
const containers = Number(positional[0] ?? 1000);
const filesPer = Number(positional[1] ?? 10);
const rate = positional[2] && positional[2] !== "-" ? Number(positional[2]) : undefined;
/** "existing": the container directories exist (and are watched) before the files appear. */
const existingDirs = positional[3] === "existing";
/** Containers writing at the same time (each: mkdir its tree, then its files one by one). */
const PARALLEL = 100;

interface Result {
  name: string;
  spoolFs: string;
  /** Bytes of the longest link target. */
  targetBytes: number;
  /** Kernel + user CPU µs of one symlinkSync with such a target into this spool's filesystem. */
  symlinkUs: number;
  linked: number;
  p50: number;
  p99: number;
  max: number;
  rssBurstMb: number;
  /** How long the generator took to write every file (its file rate is the storm's). */
  writeMs: number;
  /** The watcher's CPU time during the burst per file (the anchor: bash only, not its children). */
  cpuMsPerFile: number;
  rssRestartMb?: number;
  restartMs?: number;
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

/** Sum of RSS over a process and its descendants (the anchor is bash + inotifywait). */
async function treeRssMb(pid: number): Promise<number> {
  const ps = spawnSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" });
  const kids = ps.stdout
    .split("\n")
    .map((s) => Number(s.trim()))
    .filter((n) => n > 0);
  let total = await rssMb(pid).catch(() => 0);
  for (const k of kids) total += await treeRssMb(k);
  return total;
}

/** CPU seconds (user + system, all threads) a process has used; children not included. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of stat(5), i.e. 11 and 12 after the ")"; clock ticks.
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / 100;
}

const quantile = (sorted: number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

function startWatcher(kind: "boxscope" | "anchor", root: string, spool: string): ChildProcess {
  return kind === "boxscope"
    ? spawn(
        process.execPath,
        [
          // e.g. BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the watcher
          ...(process.env.BENCH_NODE_ARGS?.split(" ").filter(Boolean) ?? []),
          join(repoRoot, "bin/boxscope.js"),
          "logwatcher",
          "--log-root",
          root,
          "--spool",
          spool,
        ],
        {
          stdio: ["ignore", "ignore", "pipe"],
        },
      )
    : spawn("bash", [join(repoRoot, "bench/logwatcher/anchor.sh"), root, spool], {
        stdio: ["ignore", "ignore", "pipe"],
        detached: true,
      });
}

async function waitUntilReady(kind: string, child: ChildProcess): Promise<void> {
  if (kind === "anchor") {
    await sleep(1000); // inotifywait -q prints nothing when ready; an empty tree takes milliseconds
    return;
  }
  let err = "";
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
    if (process.env.BENCH_LOG) process.stderr.write(d);
  });
  while (!err.includes('"msg":"reconciled"')) {
    if (child.exitCode !== null) throw new Error(`logwatcher exited:\n${err}`);
    await sleep(20);
  }
}

async function stopWatcher(kind: string, child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once("exit", r));
  if (kind === "anchor" && child.pid) process.kill(-child.pid, "SIGTERM");
  else child.kill("SIGTERM");
  await exited;
}

/** CPU time of one symlink(2) with `target` into a fresh directory of 2,000 links under `parent`. */
function symlinkCostUs(parent: string, target: string): number {
  const dir = mkdtempSync(join(parent, "symlink-cost-"));
  try {
    const before = process.cpuUsage();
    for (let i = 0; i < 2000; i++)
      symlinkSync(target, join(dir, `container-${i}__app__logs__f${i % 10}.log`));
    const used = process.cpuUsage(before);
    return (used.user + used.system) / 2000;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function fsType(dir: string): string {
  const df = spawnSync("stat", ["-f", "-c", "%T", dir], { encoding: "utf8" });
  return df.stdout.trim() || "?";
}

async function run(kind: "boxscope" | "anchor", spoolParent: string): Promise<Result> {
  const base = await mkdtemp(join(tmpdir(), `boxscope-bench-logwatcher-${kind}-`));
  const root = join(base, "log");
  const spoolBase =
    spoolParent === tmpdir() ? base : await mkdtemp(join(spoolParent, `boxscope-bench-spool-${kind}-`));
  const spool = join(spoolBase, "spool");
  await mkdir(root);
  await mkdir(spool);
  try {
    if (existingDirs) {
      for (let c = 0; c < containers; c++)
        await mkdir(join(root, `container-${c}`, "app", "logs"), { recursive: true });
    }
    const child = startWatcher(kind, root, spool);
    await waitUntilReady(kind, child);
    const created = new Map<string, number>();
    const linkedAt = new Map<string, number>();
    const spoolWatch = watch(spool, (_ev, name) => {
      if (name && !linkedAt.has(name)) linkedAt.set(name, performance.now());
    });
    const cpuBefore = await cpuSeconds(child.pid ?? 0);
    let next = 0;
    const startedAt = performance.now();
    const worker = async (): Promise<void> => {
      while (next < containers) {
        const c = next++;
        if (rate !== undefined) {
          const due = startedAt + (c * 1000) / rate;
          const now = performance.now();
          if (due > now) await sleep(due - now);
        }
        const dir = join(root, `container-${c}`, "app", "logs");
        await mkdir(dir, { recursive: true });
        for (let f = 0; f < filesPer; f++) {
          const rel = `container-${c}/app/logs/f${f}.log`;
          created.set(linkNameFor(rel), performance.now());
          await writeFile(join(root, rel), "started\n");
        }
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    const writeMs = performance.now() - startedAt;
    const total = containers * filesPer;
    const deadline = Date.now() + 60_000;
    while (linkedAt.size < total && Date.now() < deadline) await sleep(50);
    const cpuMsPerFile = ((await cpuSeconds(child.pid ?? 0)) - cpuBefore) * (1000 / total);
    const rssBurstMb =
      kind === "anchor" && child.pid ? await treeRssMb(child.pid) : await rssMb(child.pid ?? 0);
    spoolWatch.close();
    const lat = [...created].flatMap(([name, t0]) => {
      const t1 = linkedAt.get(name);
      return t1 === undefined ? [] : [Math.max(0, t1 - t0)];
    });
    // Backlog shape: median latency of each tenth of the files in creation order (a growing
    // series is a watcher falling behind; a flat one a fixed delay).
    const byTenth = Array.from({ length: 10 }, (_, i) => {
      const part = lat.slice(Math.floor((i * lat.length) / 10), Math.floor(((i + 1) * lat.length) / 10));
      return quantile(
        part.sort((x, y) => x - y),
        0.5,
      );
    });
    console.error(
      `[${kind} ${spoolParent}] median latency per tenth of the files, ms: ${byTenth.map((x) => x.toFixed(0)).join(" ")}`,
    );
    lat.sort((a, b) => a - b);
    await stopWatcher(kind, child);
    const result: Result = {
      name: kind,
      spoolFs: `${fsType(spool)} (${spoolParent})`,
      targetBytes: Buffer.byteLength(join(root, `container-${containers - 1}/app/logs/f${filesPer - 1}.log`)),
      symlinkUs: symlinkCostUs(
        spoolBase,
        join(root, `container-${containers - 1}/app/logs/f${filesPer - 1}.log`),
      ),
      linked: lat.length,
      p50: quantile(lat, 0.5),
      p99: quantile(lat, 0.99),
      max: lat.at(-1) ?? Number.NaN,
      rssBurstMb,
      writeMs,
      cpuMsPerFile,
    };
    if (kind === "boxscope") {
      // Restart over the 10,000 existing files: start-up reconcile time and steady memory.
      const t0 = performance.now();
      const again = startWatcher(kind, root, spool);
      await waitUntilReady(kind, again);
      result.restartMs = performance.now() - t0;
      await sleep(2000);
      result.rssRestartMb = await rssMb(again.pid ?? 0);
      await stopWatcher(kind, again);
    }
    return result;
  } finally {
    await rm(base, { recursive: true, force: true });
    if (spoolBase !== base) await rm(spoolBase, { recursive: true, force: true });
  }
}

const fmt = (n: number | undefined, d = 1): string =>
  n === undefined || Number.isNaN(n) ? "-" : n.toFixed(d);
const results: Result[] = [];
for (const parent of spoolParents) results.push(await run("boxscope", parent));
if (skipAnchor) {
  console.log("anchor not run (--no-anchor)");
} else if (spawnSync("inotifywait", ["--help"]).error) {
  console.log("anchor skipped: inotifywait (Debian inotify-tools) is not installed");
} else {
  results.push(await run("anchor", spoolParents[0] ?? tmpdir()));
}
const total = containers * filesPer;
console.log(
  `workload: ${containers} containers x ${filesPer} files = ${total} files, ${
    rate === undefined
      ? `storm: ${PARALLEL} containers writing at once`
      : `${rate} containers started per second`
  }${existingDirs ? ", directories existing and watched before" : ", each in a new directory tree"}`,
);
console.log(
  "| watcher | spool on | files written in ms | watcher CPU ms/file | linked | p50 ms | p99 ms | max ms | RSS after burst MB | restart over tree: ready ms / RSS MB |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|");
for (const r of results) {
  console.log(
    `| ${r.name} | ${r.spoolFs} | ${fmt(r.writeMs, 0)} | ${fmt(r.cpuMsPerFile, 2)} | ${r.linked}/${total} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.max)} | ${fmt(r.rssBurstMb)} | ${r.restartMs === undefined ? "-" : `${fmt(r.restartMs, 0)} / ${fmt(r.rssRestartMb)}`} |`,
  );
}
for (const r of results) {
  console.log(
    `symlink(2) cost [${r.name}, ${r.spoolFs}]: ${fmt(r.symlinkUs)} µs CPU per link with ${r.targetBytes}-byte targets`,
  );
}
const a = results.find((r) => r.name === "anchor");
for (const b of results.filter((r) => r.name === "boxscope")) {
  if (a) {
    console.log(
      `ratios boxscope[${b.spoolFs}]/anchor: p50 ${fmt(b.p50 / a.p50, 2)}, p99 ${fmt(b.p99 / a.p99, 2)}, RSS ${fmt(b.rssBurstMb / a.rssBurstMb, 2)}`,
    );
  }
  console.log(
    `targets [${b.spoolFs}]: p99 < 200 ms ${b.p99 < 200 ? "met" : "MISSED"}; RSS < 150 MB ${Math.max(b.rssBurstMb, b.rssRestartMb ?? 0) < 150 ? "met" : "MISSED"}`,
  );
}
