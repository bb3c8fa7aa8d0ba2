/**
 * Pieces the live alert tests share: cleanups that run whatever fails, the repository's Alertmanager
 * routing with a PE and a team webhook, and the exporter CLI as a user runs it.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { repoRoot } from "../helpers/paths.js";
import { type RunningDaemon, startAlertmanager, startPrometheus } from "../helpers/prometheus.js";
import { waitFor } from "../helpers/wait.js";
import { startWebhookReceiver, type WebhookReceiver } from "../helpers/webhook.js";
import { testAlertmanagerConfig } from "./alertmanager-config.js";

export type Cleanups = (() => unknown)[];

/** A cleanup list run in reverse order of registration after the test, each whatever the others do. */
export function cleanupStack(t: {
  after(fn: () => Promise<void>): void;
  diagnostic(message: string): void;
}): Cleanups {
  const cleanups: Cleanups = [];
  t.after(async () => {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (e) {
        t.diagnostic(`cleanup failed: ${(e as Error).message}`);
      }
    }
  });
  return cleanups;
}

/** A scratch directory removed by the cleanups. */
export function scratchDir(cleanups: Cleanups, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** alerts/alertmanager.yml with its PE receiver and every team receiver pointed at two webhooks. */
export async function startRoutedAlertmanager(
  cleanups: Cleanups,
): Promise<{ pe: WebhookReceiver; team: WebhookReceiver; am: RunningDaemon }> {
  const pe = await startWebhookReceiver();
  cleanups.push(() => pe.close());
  const team = await startWebhookReceiver();
  cleanups.push(() => team.close());
  const am = await startAlertmanager(
    testAlertmanagerConfig(readFileSync(join(repoRoot, "alerts", "alertmanager.yml"), "utf8"), {
      pe: pe.url,
      team: team.url,
    }),
  );
  cleanups.push(() => am.stop());
  return { pe, team, am };
}

/**
 * `boxscope --config FILE exporter` as a child process, stopped by the cleanups; resolves once its
 * /healthz answers on `port` (the config's listen port).
 */
export async function startExporterCli(
  cleanups: Cleanups,
  opts: { configPath: string; port: number },
): Promise<{ url: string; stderr(): string }> {
  const exporter = spawn(
    process.execPath,
    [join(repoRoot, "bin", "boxscope.js"), "--config", opts.configPath, "--log-level", "warn", "exporter"],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  exporter.stderr?.on("data", (b: Buffer) => {
    stderr = (stderr + b.toString()).slice(-10_000);
  });
  const exited = once(exporter, "exit");
  cleanups.push(async () => {
    if (exporter.exitCode === null && exporter.signalCode === null) {
      exporter.kill("SIGTERM");
      await exited;
    }
  });
  const url = `http://127.0.0.1:${opts.port}`;
  await waitFor(
    `boxscope exporter on ${url}`,
    async () => ((await fetch(`${url}/healthz`).catch(() => undefined))?.ok ? true : undefined),
    30_000,
  ).catch((e: Error) => {
    throw new Error(`${e.message}; its stderr: ${stderr}`);
  });
  return { url, stderr: () => stderr };
}

/**
 * Prometheus scraping `targets` (job name → host:port) every second, evaluating `ruleFiles` (globs
 * below alerts/) every second and alerting to the Alertmanager on `amPort`.
 */
export async function startAlertingPrometheus(
  cleanups: Cleanups,
  opts: { amPort: number; ruleFiles: string[]; targets: Record<string, string> },
): Promise<RunningDaemon> {
  const prom = await startPrometheus(
    stringify({
      global: { scrape_interval: "1s", evaluation_interval: "1s", scrape_timeout: "1s" },
      rule_files: opts.ruleFiles.map((f) => join(repoRoot, "alerts", f)),
      alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${opts.amPort}`] }] }] },
      scrape_configs: Object.entries(opts.targets).map(([job, target]) => ({
        job_name: job,
        static_configs: [{ targets: [target] }],
      })),
    }),
  );
  cleanups.push(() => prom.stop());
  return prom;
}
