// bench:logwatcher — new-file → link latency while 1,000 containers each create 10 files, and the
// resident memory of the watcher with those 10,000 files watched. Runs boxscope's logwatcher (the
// real CLI, a child process) and the anchor (bench/logwatcher/anchor.sh: inotifywait + ln -s, what
// kiver-guard did) on the same workload in the same run, and prints both and their ratios.
// Usage: npm run bench:logwatcher [-- CONTAINERS FILES_PER_CONTAINER [CONTAINERS_PER_SECOND|-] [existing]]
//        [--spool-parent DIR]... [--no-anchor] [--trees with|without|both]
// Without a rate, 100 containers write at once as fast as the machine lets them (a storm); with
// one, containers start at that pace (each still writes its files back to back). A fifth argument
// "existing" creates the container directories before the watcher starts, so only the files are
// new (the steady state of running containers), e.g. `-- 1000 10 - existing`.
// `--spool-parent DIR` (repeatable) puts the spool under DIR; by default boxscope runs twice in the
// same run, spool on the temp dir's filesystem (the log tree's, ext4 here) and under /dev/shm
// (tmpfs, like /run on a host), because symlink(2) into a 10,000-entry ext4 directory is the
// bottleneck of a storm. The anchor uses the first placement.
// `--trees with` (the default is `both`: each placement once with, once without) also has the
// logwatcher watch a Docker json-file tree and a CRI pod log tree (sources.ts), populated as a
// host's runtimes do it: every app container is also a Docker container (dockerd makes
// `<id>/` with config.v2.json, hostconfig.json, hostname, hosts, resolv.conf, mounts/,
// checkpoints/, then `<id>-json.log` at start) and a pod (`<ns>_<pod>_<uid>/app/0.log`), and both
// runtime logs get a line per app file written (appends: IN_MODIFY events on the same inotify
// queue). The new-file → link latency is measured per tree (`-json.log` in <spool>/docker, `0.log`
// in <spool>/pods) and over all files. The anchor watches the app tree alone, as before.
// After each run the bench prints the CPU cost of one symlink(2) into a fresh directory on that
// spool's filesystem (2,000 links with targets as long as the run's): on a virtual disk's ext4 it
// swings widely with other I/O on the disk, and it bounds a storm.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, symlinkSync, watch } from "node:fs";
import { type FileHandle, mkdir, mkdtemp, open, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { linkNameFor } from "../../pipeline/spool/naming.js";
import { repoRoot } from "../../test/helpers/paths.js";

const positional: string[] = [];
const spoolParents: string[] = [];
let skipAnchor = false;
let treesMode = "both";
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i] ?? "";
  if (a === "--no-anchor") skipAnchor = true;
  else if (a === "--trees") treesMode = process.argv[++i] ?? "";
  else if (a.startsWith("--trees=")) treesMode = a.slice("--trees=".length);
  else if (a === "--spool-parent") spoolParents.push(process.argv[++i] ?? "");
  else if (a.startsWith("--spool-parent=")) spoolParents.push(a.slice("--spool-parent=".length));
  else positional.push(a);
}
if (spoolParents.length === 0) {
  spoolParents.push(tmpdir());
  if (existsSync("/dev/shm")) spoolParents.push("/dev/shm");
}
if (!["with", "without", "both"].includes(treesMode))
  throw new Error(`--trees: expected with, without or both, got "${treesMode}"`);
/** Runs of boxscope per spool placement: with the Docker and pod trees watched, without. */
const treeRuns: boolean[] = treesMode === "both" ? [true, false] : [treesMode === "with"];
const containers = Number(positional[0] ?? 1000);
const filesPer = Number(positional[1] ?? 10);
const rate = positional[2] && positional[2] !== "-" ? Number(positional[2]) : undefined;
/** "existing": the container directories exist (and are watched) before the files appear. */
const existingDirs = positional[3] === "existing";
/** Containers writing at the same time (each: mkdir its tree, then its files one by one). */
const PARALLEL = 100;

type TreeKind = "app" | "docker" | "pods";
const TREE_KINDS: TreeKind[] = ["app", "docker", "pods"];

interface Latencies {
  linked: number;
  total: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

interface Result {
  name: string;
  /** The Docker and pod trees were watched (and written) too. */
  withTrees: boolean;
  spoolFs: string;
  /** Per tree (only "app" without the trees) and "all". */
  lat: Partial<Record<TreeKind | "all", Latencies>>;
  /** Bytes of the longest link target. */
  targetBytes: number;
  /** Kernel + user CPU µs of one symlinkSync with such a target into this spool's filesystem. */
  symlinkUs: number;
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

/** The Docker and pod log roots of a run (undefined: those trees are off). */
interface RuntimeRoots {
  docker: string;
  pods: string;
}

function startWatcher(
  kind: "boxscope" | "anchor",
  root: string,
  spool: string,
  runtime?: RuntimeRoots,
): ChildProcess {
  // Set either way: "auto" would pick up a real /var/lib/docker/containers on the bench host.
  const env = {
    ...process.env,
    BOXSCOPE_LOGWATCHER_DOCKER_LOGS: runtime ? "on" : "off",
    BOXSCOPE_LOGWATCHER_POD_LOGS: runtime ? "on" : "off",
    ...(runtime
      ? {
          BOXSCOPE_LOGWATCHER_DOCKER_LOG_ROOT: runtime.docker,
          BOXSCOPE_LOGWATCHER_POD_LOG_ROOT: runtime.pods,
        }
      : {}),
  };
  return kind === "boxscope"
    ? spawn(
        process.execPath,
        [
          // e.g. BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the watcher
          ...(process.env.BENCH_NODE_ARGS?.split(" ").filter(Boolean) ?? []),
          // e.g. BENCH_BOXSCOPE_BIN=/path/to/other/checkout/bin/boxscope.js to compare builds
          process.env.BENCH_BOXSCOPE_BIN ?? join(repoRoot, "bin/boxscope.js"),
          "logwatcher",
          "--log-root",
          root,
          "--spool",
          spool,
        ],
        {
          stdio: ["ignore", "ignore", "pipe"],
          env,
        },
      )
    : spawn("bash", [join(repoRoot, "bench/logwatcher/anchor.sh"), root, spool], {
        stdio: ["ignore", "ignore", "pipe"],
        detached: true,
      });
}

/** Until every tree's start-up reconcile is done (the trees are watched one after the other). */
async function waitUntilReady(kind: string, child: ChildProcess, trees = 1): Promise<void> {
  if (kind === "anchor") {
    await sleep(1000); // inotifywait -q prints nothing when ready; an empty tree takes milliseconds
    return;
  }
  let err = "";
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
    if (process.env.BENCH_LOG) process.stderr.write(d);
  });
  while (err.split('"msg":"reconciled"').length - 1 < trees) {
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

/** Docker's 64-hex container id and a pod's directory for app container `c` (stable per c). */
const dockerId = (c: number): string => createHash("sha256").update(`container-${c}`).digest("hex");
function podDir(c: number): string {
  const h = createHash("sha256").update(`pod-${c}`).digest("hex");
  const uid = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
  return `default_app-${c}-7d4b9c6f5-x${c.toString(36)}_${uid}`;
}

/** As dockerd writes its state files: a temp file beside, then rename over (ioutils.AtomicWriteFile). */
async function atomicWrite(path: string, data: string): Promise<void> {
  const tmp = `${path}.tmp${Math.random().toString(36).slice(2, 10)}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

const FILLER = "x".repeat(2000);

/** What dockerd makes at `docker create`: the container directory and its state files, no log yet. */
async function dockerCreate(dockerRoot: string, c: number): Promise<void> {
  const id = dockerId(c);
  const dir = join(dockerRoot, id);
  await mkdir(join(dir, "mounts"), { recursive: true });
  await mkdir(join(dir, "checkpoints"));
  await atomicWrite(
    join(dir, "config.v2.json"),
    JSON.stringify({ ID: id, State: { Running: false }, FILLER }),
  );
  await atomicWrite(
    join(dir, "hostconfig.json"),
    JSON.stringify({ LogConfig: { Type: "json-file" }, FILLER }),
  );
  await writeFile(join(dir, "hostname"), `${id.slice(0, 12)}\n`);
  await writeFile(join(dir, "hosts"), `127.0.0.1\tlocalhost\n172.17.0.2\t${id.slice(0, 12)}\n`);
  await writeFile(join(dir, "resolv.conf"), "nameserver 10.96.0.10\nsearch default.svc.cluster.local\n");
}

const jsonLine = (text: string): string =>
  `${JSON.stringify({ log: `${text}\n`, stream: "stdout", time: new Date().toISOString() })}\n`;
const criLine = (text: string): string => `${new Date().toISOString()} stdout F ${text}\n`;

function latencies(pairs: Array<[string, number]>, linkedAt: Map<string, number>): number[] {
  return pairs.flatMap(([name, t0]) => {
    const t1 = linkedAt.get(name);
    return t1 === undefined ? [] : [Math.max(0, t1 - t0)];
  });
}

function summarize(lat: number[], total: number): Latencies {
  const sorted = [...lat].sort((x, y) => x - y);
  return {
    linked: sorted.length,
    total,
    p50: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    p99: quantile(sorted, 0.99),
    max: sorted.at(-1) ?? Number.NaN,
  };
}

/** Median latency of each tenth of the files in creation order (rising: a backlog; flat: a fixed delay). */
function byTenth(lat: number[]): string {
  return Array.from({ length: 10 }, (_, i) => {
    const part = lat.slice(Math.floor((i * lat.length) / 10), Math.floor(((i + 1) * lat.length) / 10));
    return quantile(
      part.sort((x, y) => x - y),
      0.5,
    ).toFixed(0);
  }).join(" ");
}

async function run(kind: "boxscope" | "anchor", spoolParent: string, withTrees: boolean): Promise<Result> {
  const base = await mkdtemp(join(tmpdir(), `boxscope-bench-logwatcher-${kind}-`));
  const root = join(base, "log");
  const runtime: RuntimeRoots | undefined = withTrees
    ? { docker: join(base, "docker-containers"), pods: join(base, "pods") }
    : undefined;
  const spoolBase =
    spoolParent === tmpdir() ? base : await mkdtemp(join(spoolParent, `boxscope-bench-spool-${kind}-`));
  const spool = join(spoolBase, "spool");
  await mkdir(root);
  await mkdir(spool);
  if (runtime) {
    await mkdir(runtime.docker);
    await mkdir(runtime.pods);
  }
  const treeCount = runtime ? 3 : 1;
  try {
    if (existingDirs) {
      for (let c = 0; c < containers; c++) {
        await mkdir(join(root, `container-${c}`, "app", "logs"), { recursive: true });
        if (runtime) {
          await dockerCreate(runtime.docker, c);
          await mkdir(join(runtime.pods, podDir(c), "app"), { recursive: true });
        }
      }
    }
    const child = startWatcher(kind, root, spool, runtime);
    await waitUntilReady(kind, child, treeCount);
    // Creation time per link name, per tree, in creation order.
    const created: Record<TreeKind, Array<[string, number]>> = { app: [], docker: [], pods: [] };
    const linkedAt = new Map<string, number>();
    const watchSpool = (tree: TreeKind, dir: string) =>
      watch(dir, (_ev, name) => {
        const key = `${tree}:${name}`;
        if (name && !linkedAt.has(key)) linkedAt.set(key, performance.now());
      });
    const spoolWatches = [watchSpool("app", spool)];
    if (runtime)
      spoolWatches.push(watchSpool("docker", join(spool, "docker")), watchSpool("pods", join(spool, "pods")));
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
        // The runtimes hold their log open while the container runs (dockerd, the CRI shim).
        let dockerLog: FileHandle | undefined;
        let podLog: FileHandle | undefined;
        if (runtime) {
          // docker create (or kubelet via the runtime): state files first, then at start the logs.
          if (!existingDirs) {
            await dockerCreate(runtime.docker, c);
            await mkdir(join(runtime.pods, podDir(c), "app"), { recursive: true });
          }
          const id = dockerId(c);
          const dRel = `${id}/${id}-json.log`;
          created.docker.push([`docker:${linkNameFor(dRel)}`, performance.now()]);
          dockerLog = await open(join(runtime.docker, dRel), "a");
          await dockerLog.write(jsonLine("starting"));
          await atomicWrite(
            join(runtime.docker, id, "config.v2.json"),
            JSON.stringify({ ID: id, State: { Running: true }, FILLER }),
          );
          const pRel = `${podDir(c)}/app/0.log`;
          created.pods.push([`pods:${linkNameFor(pRel)}`, performance.now()]);
          podLog = await open(join(runtime.pods, pRel), "a");
          await podLog.write(criLine("starting"));
        }
        const dir = join(root, `container-${c}`, "app", "logs");
        await mkdir(dir, { recursive: true });
        for (let f = 0; f < filesPer; f++) {
          const rel = `container-${c}/app/logs/f${f}.log`;
          created.app.push([`app:${linkNameFor(rel)}`, performance.now()]);
          await writeFile(join(root, rel), "started\n");
          // The container says so on stdout: an append to each runtime log (IN_MODIFY, no new file).
          await dockerLog?.write(jsonLine(`opened f${f}.log`));
          await podLog?.write(criLine(`opened f${f}.log`));
        }
        await dockerLog?.close();
        await podLog?.close();
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    const writeMs = performance.now() - startedAt;
    const total = containers * filesPer + (runtime ? 2 * containers : 0);
    const deadline = Date.now() + 60_000;
    while (linkedAt.size < total && Date.now() < deadline) await sleep(50);
    const cpuMsPerFile = ((await cpuSeconds(child.pid ?? 0)) - cpuBefore) * (1000 / total);
    const rssBurstMb =
      kind === "anchor" && child.pid ? await treeRssMb(child.pid) : await rssMb(child.pid ?? 0);
    for (const w of spoolWatches) w.close();
    const lat: Result["lat"] = {};
    const all: Array<[string, number]> = [];
    for (const tree of runtime ? TREE_KINDS : (["app"] as TreeKind[])) {
      const l = latencies(created[tree], linkedAt);
      lat[tree] = summarize(l, created[tree].length);
      all.push(...created[tree]);
      console.error(
        `[${kind} ${spoolParent}${runtime ? " +docker+pods" : ""}] ${tree}: median latency per tenth of the files, ms: ${byTenth(l)}`,
      );
    }
    if (runtime) {
      all.sort((x, y) => x[1] - y[1]);
      const l = latencies(all, linkedAt);
      lat.all = summarize(l, all.length);
      console.error(
        `[${kind} ${spoolParent} +docker+pods] all: median latency per tenth of the files, ms: ${byTenth(l)}`,
      );
    }
    await stopWatcher(kind, child);
    const result: Result = {
      name: kind,
      withTrees,
      spoolFs: `${fsType(spool)} (${spoolParent})`,
      lat,
      targetBytes: Buffer.byteLength(join(root, `container-${containers - 1}/app/logs/f${filesPer - 1}.log`)),
      symlinkUs: symlinkCostUs(
        spoolBase,
        join(root, `container-${containers - 1}/app/logs/f${filesPer - 1}.log`),
      ),
      rssBurstMb,
      writeMs,
      cpuMsPerFile,
    };
    if (kind === "boxscope") {
      // Restart over the existing files: start-up reconcile time and steady memory.
      const t0 = performance.now();
      const again = startWatcher(kind, root, spool, runtime);
      await waitUntilReady(kind, again, treeCount);
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
for (const parent of spoolParents)
  for (const withTrees of treeRuns) results.push(await run("boxscope", parent, withTrees));
if (skipAnchor) {
  console.log("anchor not run (--no-anchor)");
} else if (spawnSync("inotifywait", ["--help"]).error) {
  console.log("anchor skipped: inotifywait (Debian inotify-tools) is not installed");
} else {
  // The anchor watches the app tree alone: its workload is the app tree's, as before.
  results.push(await run("anchor", spoolParents[0] ?? tmpdir(), false));
}
console.log(
  `workload: ${containers} containers x ${filesPer} files = ${containers * filesPer} files, ${
    rate === undefined
      ? `storm: ${PARALLEL} containers writing at once`
      : `${rate} containers started per second`
  }${existingDirs ? ", directories existing and watched before" : ", each in a new directory tree"}; ` +
    `"+docker+pods": each container also a Docker container dir (state files, -json.log) and a pod (0.log), one line appended to both per app file`,
);
console.log(
  "| watcher | trees | spool on | files written in ms | watcher CPU ms/file | tree | linked | p50 ms | p90 ms | p99 ms | max ms | RSS after burst MB | restart over tree: ready ms / RSS MB |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
for (const r of results) {
  const rows = (["app", "docker", "pods", "all"] as const).filter((t) => r.lat[t]);
  rows.forEach((t, i) => {
    const l = r.lat[t] as Latencies;
    const head =
      i === 0
        ? `| ${r.name} | ${r.withTrees ? "app+docker+pods" : "app"} | ${r.spoolFs} | ${fmt(r.writeMs, 0)} | ${fmt(r.cpuMsPerFile, 2)} |`
        : "| | | | | |";
    const tail =
      i === 0
        ? ` ${fmt(r.rssBurstMb)} | ${r.restartMs === undefined ? "-" : `${fmt(r.restartMs, 0)} / ${fmt(r.rssRestartMb)}`} |`
        : " | |";
    console.log(
      `${head} ${t} | ${l.linked}/${l.total} | ${fmt(l.p50)} | ${fmt(l.p90)} | ${fmt(l.p99)} | ${fmt(l.max)} |${tail}`,
    );
  });
}
for (const r of results) {
  console.log(
    `symlink(2) cost [${r.name}, ${r.spoolFs}]: ${fmt(r.symlinkUs)} µs CPU per link with ${r.targetBytes}-byte targets`,
  );
}
const a = results.find((r) => r.name === "anchor");
for (const b of results.filter((r) => r.name === "boxscope")) {
  const label = `${b.spoolFs}${b.withTrees ? " +docker+pods" : ""}`;
  const app = b.lat.app as Latencies;
  const anchorApp = a?.lat.app;
  if (anchorApp) {
    console.log(
      `ratios boxscope[${label}] app tree/anchor: p50 ${fmt(app.p50 / anchorApp.p50, 2)}, p99 ${fmt(app.p99 / anchorApp.p99, 2)}, RSS ${fmt(b.rssBurstMb / (a?.rssBurstMb ?? Number.NaN), 2)}`,
    );
  }
  const worst = Math.max(...Object.values(b.lat).map((l) => l.p99));
  console.log(
    `targets [${label}]: p99 < 200 ms in every tree ${worst < 200 ? "met" : "MISSED"} (worst ${fmt(worst)}); RSS < 150 MB ${Math.max(b.rssBurstMb, b.rssRestartMb ?? 0) < 150 ? "met" : "MISSED"}`,
  );
}
