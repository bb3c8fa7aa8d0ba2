/**
 * Start-up time of every `boxscope` command beside `node -e 0` (the anchor: Node's own start).
 * One-shot commands are timed from spawn to exit; long-running ones from spawn to the first log
 * line of their real work (ship: the first spool file opened; index: the first connection
 * attempt; exporter/up: /metrics listening; logwatcher: watching; shim mount: mounted), read from
 * the line's pino `time`. No Kafka or Elasticsearch is needed: the brokers and the node are
 * unreachable addresses, and every process is killed once its mark is seen.
 *
 *   npm run bench:cli -- [OTHER_CHECKOUT...]
 *
 * OTHER_CHECKOUT: further built trees (with bin/boxscope.js) run alternately in the same run, for
 * before/after figures. BENCH_CLI_RUNS (default 9) runs per command and tree; the median is shown.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../../test/helpers/paths.js";

interface CommandCase {
  name: string;
  args: string[];
  /** A stderr line matching this marks the end of start-up; absent: time to exit. */
  mark?: RegExp;
  /** Stop with SIGTERM (the shim must unmount); otherwise SIGKILL, which is quicker. */
  term?: boolean;
  /** Runs only as root (FUSE). */
  root?: boolean;
}

const RUNS = Number(process.env.BENCH_CLI_RUNS ?? 9);
const trees = [repoRoot, ...process.argv.slice(2)];
const dir = mkdtempSync(join(tmpdir(), "boxscope-bench-cli-"));
const logs = join(dir, "logs");
const spool = join(dir, "spool");
const mnt = join(dir, "mnt");
mkdirSync(join(logs, "c1"), { recursive: true });
mkdirSync(spool);
mkdirSync(mnt);
writeFileSync(join(logs, "c1", "app.log"), "one line\n");
symlinkSync(join(logs, "c1", "app.log"), join(spool, "c1__app.log"));
const upConfig = join(dir, "up.yaml");
writeFileSync(
  upConfig,
  `shim:\n  mountpoint: ${join(dir, "mnt-up")}\nexporter:\n  listen: 127.0.0.1:0\n` +
    `logwatcher:\n  logRoot: ${logs}\n  spool: ${join(dir, "up-spool")}\n`,
);
mkdirSync(join(dir, "mnt-up"));
let run = 0;

const cases: CommandCase[] = [
  { name: "--help", args: ["--help"] },
  { name: "shim render", args: ["shim", "render", "proc/meminfo", "--pid", "1"] },
  {
    name: "ship",
    // A fresh positions file per run, so the file is always new and opened from offset 0.
    args: ["ship", "--spool", spool, "--log-root", logs, "--brokers", "127.0.0.1:1", "--positions", "POS"],
    mark: /"msg":"tracking new file"/,
  },
  {
    name: "index",
    args: ["index", "--brokers", "127.0.0.1:1", "--elasticsearch", "http://127.0.0.1:1"],
    mark: /"level"/,
  },
  {
    name: "logwatcher",
    args: ["logwatcher", "--log-root", logs, "--spool", join(dir, "lw-spool")],
    mark: /"msg":"watching"/,
  },
  {
    name: "exporter",
    args: ["exporter", "--listen", "127.0.0.1:0", "--no-kmsg"],
    mark: /metrics server listening/,
  },
  {
    name: "shim mount",
    args: ["shim", "mount", "--mountpoint", mnt],
    mark: /"msg":"mounted"/,
    term: true,
    root: true,
  },
  { name: "up", args: ["--config", upConfig, "up"], mark: /metrics server listening/, term: true },
];

/** Milliseconds from spawn to the mark (or exit); waits for the process to be gone. */
function timeOnce(argv: string[], c: CommandCase): Promise<number> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, argv, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    let markedAt: number | undefined;
    const killer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.stderr.on("data", (b: Buffer) => {
      stderr += b.toString();
      if (!c.mark || markedAt !== undefined) return;
      const line = stderr.split("\n").find((l) => c.mark?.test(l));
      if (line === undefined) return;
      markedAt = (JSON.parse(line) as { time: number }).time;
      child.kill(c.term ? "SIGTERM" : "SIGKILL");
    });
    child.once("exit", () => {
      clearTimeout(killer);
      if (!c.mark) resolve(Date.now() - t0);
      else if (markedAt !== undefined) resolve(markedAt - t0);
      else {
        // One tree failing a command (e.g. a bundle without the FUSE binding) does not stop the rest.
        process.stderr.write(`${c.name}: exited without its start-up mark:\n${stderr.slice(-2000)}\n`);
        resolve(Number.NaN);
      }
    });
  });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? Number.NaN;

async function timeCase(c: CommandCase | undefined): Promise<number[][]> {
  const samples: number[][] = trees.map(() => []);
  for (let i = 0; i < RUNS; i++) {
    for (const [t, tree] of trees.entries()) {
      run++;
      const args = c?.args.map((a) => (a === "POS" ? join(dir, `positions-${run}.json`) : a));
      const argv = c && args ? [join(tree, "bin/boxscope.js"), ...args] : ["-e", "0"];
      samples[t]?.push(await timeOnce(argv, c ?? { name: "node -e 0", args: [] }));
    }
  }
  return samples;
}

try {
  const anchor = median((await timeCase(undefined)).flat());
  console.log(`node -e 0: ${anchor} ms (anchor); ${RUNS} runs per command and tree, medians`);
  console.log(["command", ...trees].join(" | "));
  for (const c of cases) {
    if (c.root && process.getuid?.() !== 0) {
      console.log(`${c.name} | skipped: needs root and FUSE`);
      continue;
    }
    const samples = await timeCase(c);
    const cells = samples.map((s) =>
      s.some(Number.isNaN) ? "failed" : `${median(s)} ms (+${median(s) - anchor} over node)`,
    );
    console.log([c.name, ...cells].join(" | "));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
