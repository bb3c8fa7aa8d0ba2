import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { repoRoot } from "./paths.js";

/**
 * Apache Flume 1.11 (flume-ng-node + TAILDIR source) from Maven Central, cached by
 * scripts/flume.sh under ${BOXSCOPE_CACHE:-$HOME/.cache/boxscope}/flume-1.11.0. Returns the
 * Flume home, or an error text saying why it is not available (no java, no maven, offline).
 */
export function flumeHome(): { home: string } | { missing: string } {
  if (spawnSync("java", ["-version"]).status !== 0) return { missing: "java is not installed" };
  const r = spawnSync("bash", [join(repoRoot, "scripts/flume.sh")], { encoding: "utf8", timeout: 600_000 });
  if (r.status !== 0)
    return { missing: `scripts/flume.sh failed: ${r.stderr.trim().split("\n").slice(-3).join(" | ")}` };
  return { home: r.stdout.trim() };
}

export interface RunningFlume {
  child: ChildProcess;
  /** Every line the file_roll sink has written so far (all roll files, in order). */
  lines(): string[];
  log(): string;
  stop(): Promise<void>;
}

/**
 * Runs one agent: TAILDIR over `filegroup` (a directory + file-name regex, as Flume takes it) →
 * memory channel → file_roll sink into `work/out`. Flume's own log goes to work/flume.log.
 */
export async function startFlume(home: string, work: string, filegroup: string): Promise<RunningFlume> {
  const out = join(work, "out");
  mkdirSync(out, { recursive: true });
  const conf = join(work, "agent.properties");
  writeFileSync(
    conf,
    [
      "agent.sources = tail",
      "agent.channels = mem",
      "agent.sinks = roll",
      "agent.sources.tail.type = TAILDIR",
      "agent.sources.tail.channels = mem",
      `agent.sources.tail.positionFile = ${join(work, "taildir_position.json")}`,
      "agent.sources.tail.filegroups = spool",
      `agent.sources.tail.filegroups.spool = ${filegroup}`,
      "agent.sources.tail.batchSize = 100",
      "agent.sources.tail.writePosInterval = 500",
      "agent.channels.mem.type = memory",
      "agent.channels.mem.capacity = 100000",
      "agent.channels.mem.transactionCapacity = 1000",
      "agent.sinks.roll.type = file_roll",
      "agent.sinks.roll.channel = mem",
      `agent.sinks.roll.sink.directory = ${out}`,
      "agent.sinks.roll.sink.rollInterval = 0",
      "agent.sinks.roll.sink.batchSize = 10",
      "",
    ].join("\n"),
  );
  const log4j = join(work, "log4j2.xml");
  writeFileSync(
    log4j,
    `<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="warn">
  <Appenders>
    <File name="file" fileName="${join(work, "flume.log")}">
      <PatternLayout pattern="%d{HH:mm:ss.SSS} %-5p [%t] %c{1}: %m%n"/>
    </File>
  </Appenders>
  <Loggers>
    <Root level="info"><AppenderRef ref="file"/></Root>
  </Loggers>
</Configuration>
`,
  );
  const child = spawn(
    "java",
    [
      "-Xmx256m",
      `-Dlog4j.configurationFile=${log4j}`,
      "-cp",
      `${join(home, "lib")}/*`,
      "org.apache.flume.node.Application",
      "-f",
      conf,
      "-n",
      "agent",
    ],
    // Java encodes file names by the locale: without a UTF-8 one it cannot open the spool's links
    // to non-ASCII log names (as a Flume agent on a host with LANG unset could not either).
    { stdio: ["ignore", "ignore", "pipe"], cwd: work, env: { ...process.env, LC_ALL: "C.UTF-8" } },
  );
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const logPath = join(work, "flume.log");
  const log = (): string => (existsSync(logPath) ? readFileSync(logPath, "utf8") : "") + stderr;
  const deadline = Date.now() + 60_000;
  // TAILDIR logs this once its first pass over the filegroups has run.
  while (!/Component type: SOURCE, name: tail started/.test(log())) {
    if (child.exitCode !== null) throw new Error(`flume exited with ${child.exitCode}:\n${log()}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`flume did not start in 60 s:\n${log()}`);
    }
    await sleep(100);
  }
  return {
    child,
    lines: () =>
      readdirSync(out)
        .sort()
        .flatMap((f) => readFileSync(join(out, f), "utf8").split("\n"))
        .filter((l) => l.length > 0),
    log,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
