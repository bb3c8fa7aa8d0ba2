import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { waitFor } from "./wait.js";

/** Debian's binaries (packages `prometheus`, `prometheus-alertmanager`). */
export const BIN = {
  prometheus: "/usr/bin/prometheus",
  promtool: "/usr/bin/promtool",
  alertmanager: "/usr/bin/prometheus-alertmanager",
  amtool: "/usr/bin/amtool",
} as const;

export const havePrometheusBinaries = (): boolean => Object.values(BIN).every((p) => existsSync(p));

/** A free loopback TCP port (the kernel picks it; a tiny race remains, so starts retry). */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface RunningDaemon {
  readonly name: string;
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  /** Temp dir holding the config and the data dir; removed by stop(). */
  readonly dir: string;
  /** The daemon's recent stderr, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

interface DaemonSpec {
  name: string;
  bin: string;
  configYaml: string;
  args: (dir: string, configPath: string, port: number) => string[];
  readyPath: string;
}

async function startDaemon(spec: DaemonSpec): Promise<RunningDaemon> {
  const dir = await mkdtemp(join(tmpdir(), `boxscope-test-${spec.name}-`));
  const configPath = join(dir, `${spec.name}.yml`);
  await writeFile(configPath, spec.configYaml);
  let lastFailure = "";
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = spawn(spec.bin, spec.args(dir, configPath, port), {
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    const keep = (b: Buffer) => {
      out = (out + b.toString()).slice(-20_000);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const url = `http://127.0.0.1:${port}`;
    const ready = await Promise.race([
      waitFor(
        `${spec.name} ready on ${url}`,
        async () => ((await fetch(`${url}${spec.readyPath}`)).ok ? true : undefined),
        30_000,
        100,
      ).then(
        () => "ready" as const,
        (e: Error) => e.message,
      ),
      exited.then((code) => `exited with code ${code}`),
    ]);
    if (ready === "ready") {
      return {
        name: spec.name,
        url,
        port,
        dir,
        output: () => out,
        stop: async () => {
          await stopChild(child, exited);
          await rm(dir, { recursive: true, force: true });
        },
      };
    }
    await stopChild(child, exited);
    lastFailure = `${spec.name} ${ready}:\n${out}`;
    if (!/address already in use/.test(out)) break;
  }
  await rm(dir, { recursive: true, force: true });
  throw new Error(`could not start ${lastFailure}`);
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const done = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
  if (!done) {
    child.kill("SIGKILL");
    await exited;
  }
}

/**
 * Starts Debian's Prometheus on a free loopback port with a temp TSDB. `configYaml` is the whole
 * prometheus.yml; relative paths in it (rule_files) resolve against the temp dir, so pass absolute ones.
 */
export async function startPrometheus(configYaml: string): Promise<RunningDaemon> {
  return await startDaemon({
    name: "prometheus",
    bin: BIN.prometheus,
    configYaml,
    readyPath: "/-/ready",
    args: (dir, config, port) => [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--storage.tsdb.retention.time=1h",
      // Tests evaluate every second; resend firing alerts quickly too.
      "--rules.alert.resend-delay=1s",
      "--log.level=warn",
    ],
  });
}

/**
 * Starts Debian's Alertmanager on a free loopback port with a temp data dir and clustering off
 * (the default gossip port 9094 would clash between concurrent tests).
 */
export async function startAlertmanager(configYaml: string): Promise<RunningDaemon> {
  return await startDaemon({
    name: "alertmanager",
    bin: BIN.alertmanager,
    configYaml,
    readyPath: "/-/ready",
    args: (dir, config, port) => [
      `--config.file=${config}`,
      `--storage.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--cluster.listen-address=",
      "--log.level=warn",
    ],
  });
}

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** Runs an instant query; throws with Prometheus's error text when the query is rejected. */
export async function promQuery(prometheusUrl: string, expr: string): Promise<PromSample[]> {
  const res = await fetch(`${prometheusUrl}/api/v1/query?${new URLSearchParams({ query: expr })}`);
  const body = (await res.json()) as {
    status: string;
    error?: string;
    data?: { resultType: string; result: PromSample[] | [number, string] };
  };
  if (body.status !== "success" || !body.data)
    throw new Error(`query ${expr} failed: ${body.error ?? res.status}`);
  if (body.data.resultType === "scalar" || body.data.resultType === "string") {
    return [{ metric: {}, value: body.data.result as [number, string] }];
  }
  return body.data.result as PromSample[];
}
