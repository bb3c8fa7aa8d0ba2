// bench:logwatcher — new-file → link latency while 1,000 containers each create 10 files, and the
// resident memory of the watcher with those 10,000 files watched. Runs boxscope's logwatcher (the
// real CLI, a child process) and the anchor (bench/logwatcher/anchor.sh: inotifywait + ln -s, what
// kiver-guard did) on the same workload in the same run, and prints both and their ratios.
// Usage: npm run bench:logwatcher [-- CONTAINERS FILES_PER_CONTAINER]
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { watch } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { linkNameFor } from "../../logwatcher/spool/naming.js";
import { repoRoot } from "../../test/helpers/paths.js";

const containers = Number(process.argv[2] ?? 1000);
const filesPer = Number(process.argv[3] ?? 10);
/** Containers writing at the same time (each: mkdir its tree, then its files one by one). */
const PARALLEL = 100;

interface Result {
  name: string;
  linked: number;
  p50: number;
  p99: number;
  max: number;
  rssBurstMb: number;
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

const quantile = (sorted: number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

function startWatcher(kind: "boxscope" | "anchor", root: string, spool: string): ChildProcess {
  return kind === "boxscope"
    ? spawn(
        process.execPath,
        [join(repoRoot, "bin/boxscope.js"), "logwatcher", "--log-root", root, "--spool", spool],
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

async function run(kind: "boxscope" | "anchor"): Promise<Result> {
  const base = await mkdtemp(join(tmpdir(), `boxscope-bench-logwatcher-${kind}-`));
  const root = join(base, "log");
  const spool = join(base, "spool");
  await mkdir(root);
  await mkdir(spool);
  try {
    const child = startWatcher(kind, root, spool);
    await waitUntilReady(kind, child);
    const created = new Map<string, number>();
    const linkedAt = new Map<string, number>();
    const spoolWatch = watch(spool, (_ev, name) => {
      if (name && !linkedAt.has(name)) linkedAt.set(name, performance.now());
    });
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < containers) {
        const c = next++;
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
    const total = containers * filesPer;
    const deadline = Date.now() + 60_000;
    while (linkedAt.size < total && Date.now() < deadline) await sleep(50);
    const rssBurstMb =
      kind === "anchor" && child.pid ? await treeRssMb(child.pid) : await rssMb(child.pid ?? 0);
    spoolWatch.close();
    const lat = [...created].flatMap(([name, t0]) => {
      const t1 = linkedAt.get(name);
      return t1 === undefined ? [] : [Math.max(0, t1 - t0)];
    });
    lat.sort((a, b) => a - b);
    await stopWatcher(kind, child);
    const result: Result = {
      name: kind,
      linked: lat.length,
      p50: quantile(lat, 0.5),
      p99: quantile(lat, 0.99),
      max: lat.at(-1) ?? Number.NaN,
      rssBurstMb,
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
  }
}

const fmt = (n: number | undefined, d = 1): string =>
  n === undefined || Number.isNaN(n) ? "-" : n.toFixed(d);
const results: Result[] = [];
for (const kind of ["boxscope", "anchor"] as const) {
  if (kind === "anchor" && spawnSync("inotifywait", ["--help"]).error) {
    console.log("anchor skipped: inotifywait (Debian inotify-tools) is not installed");
    continue;
  }
  results.push(await run(kind));
}
const total = containers * filesPer;
console.log(
  `workload: ${containers} containers x ${filesPer} files = ${total} files, ${PARALLEL} containers writing at once`,
);
console.log(
  "| watcher | linked | p50 ms | p99 ms | max ms | RSS after burst MB | restart over tree: ready ms / RSS MB |",
);
console.log("|---|---|---|---|---|---|---|");
for (const r of results) {
  console.log(
    `| ${r.name} | ${r.linked}/${total} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.max)} | ${fmt(r.rssBurstMb)} | ${r.restartMs === undefined ? "-" : `${fmt(r.restartMs, 0)} / ${fmt(r.rssRestartMb)}`} |`,
  );
}
const [b, a] = results;
if (b && a) {
  console.log(
    `ratios boxscope/anchor: p50 ${fmt(b.p50 / a.p50, 2)}, p99 ${fmt(b.p99 / a.p99, 2)}, RSS ${fmt(b.rssBurstMb / a.rssBurstMb, 2)}`,
  );
}
if (b)
  console.log(
    `targets: p99 < 200 ms ${b.p99 < 200 ? "met" : "MISSED"}; RSS < 150 MB ${Math.max(b.rssBurstMb, b.rssRestartMb ?? 0) < 150 ? "met" : "MISSED"}`,
  );
