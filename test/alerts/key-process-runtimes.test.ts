import assert from "node:assert/strict";
import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parseSamples, value } from "../exporter/helpers.js";
import { repoRoot } from "../helpers/paths.js";
import { hasCommand, isRoot, requirePrereq } from "../helpers/prereq.js";
import { freePort, havePrometheusBinaries, promQuery } from "../helpers/prometheus.js";
import { waitFor } from "../helpers/wait.js";
import { cleanupStack, scratchDir, startAlertingPrometheus, startRoutedAlertmanager } from "./live-stack.js";

/** Debian's docker.io and containerd, unpacked by .ci/setup.d/45-keyprocesses.sh. */
const DOCKERD = "/opt/boxscope-test/docker/usr/sbin/dockerd";
const CONTAINERD = "/opt/boxscope-test/containerd/usr/bin/containerd";

/**
 * The acceptance of the key processes on by default, with real daemons and the exporter on its
 * embedded default config (only --listen given). So that the daemons' packaged default sockets
 * (/var/run/docker.sock, /run/containerd/containerd.sock), which the defaults probe, belong to
 * this test and to nothing else on the machine, the daemons and the exporter share a private
 * mount namespace whose /run is a fresh tmpfs; everything else (processes, loopback network,
 * Prometheus and Alertmanager outside it) is the host's.
 */
test("keyproc: real dockerd and containerd on the embedded defaults: up and healthy; SIGSTOP → hung fires BoxscopeKeyProcessHung to the PE; SIGKILL → down fires BoxscopeKeyProcessDown", {
  timeout: 360_000,
}, async (t) => {
  if (!requirePrereq(t, isRoot(), "needs root (dockerd, mount namespaces)")) return;
  if (
    !requirePrereq(
      t,
      existsSync(DOCKERD) && existsSync(CONTAINERD),
      `Debian's dockerd and containerd unpacked at ${DOCKERD}, ${CONTAINERD} (.ci/setup.d/45-keyprocesses.sh)`,
    )
  )
    return;
  if (!requirePrereq(t, hasCommand("unshare") && hasCommand("nsenter"), "util-linux unshare and nsenter"))
    return;
  if (!requirePrereq(t, havePrometheusBinaries(), "Debian prometheus + prometheus-alertmanager missing"))
    return;

  const cleanups = cleanupStack(t);
  const dir = scratchDir(cleanups, "boxscope-test-keyproc-");
  const logs = new Map<string, string>();
  const started: ChildProcess[] = [];
  const run = (name: string, cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess => {
    const p = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], ...opts });
    logs.set(name, "");
    const keep = (b: Buffer) => logs.set(name, ((logs.get(name) ?? "") + b.toString()).slice(-4000));
    p.stdout?.on("data", keep);
    p.stderr?.on("data", keep);
    started.push(p);
    cleanups.push(async () => {
      if (p.exitCode === null && p.signalCode === null) {
        p.kill("SIGKILL");
        await once(p, "exit");
      }
    });
    return p;
  };
  const logTail = (name: string) => `${name}: ${(logs.get(name) ?? "").slice(-800)}`;

  // The namespace holder: private mounts, a tmpfs on /run, then it sleeps until killed.
  const holder = run("holder", "unshare", [
    "--mount",
    "--propagation",
    "private",
    "--",
    "sh",
    "-c",
    "mount -t tmpfs -o mode=0755 boxscope-test-run /run && echo ready && exec sleep 3600",
  ]);
  await waitFor(
    `the private /run (${logTail("holder")})`,
    async () => ((logs.get("holder") ?? "").includes("ready") ? true : undefined),
    10_000,
  );
  const inNamespace = (name: string, cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess =>
    // nsenter with only --mount execs the command itself: the child's pid is the daemon's.
    run(name, "nsenter", [`--mount=/proc/${holder.pid}/ns/mnt`, "--", cmd, ...args], opts);

  const { pe, team, am } = await startRoutedAlertmanager(cleanups);

  // The real CLI on embedded defaults: no --config, no BOXSCOPE_EXPORTER_* variable.
  const exporterPort = await freePort();
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("BOXSCOPE_")));
  inNamespace(
    "exporter",
    process.execPath,
    [
      join(repoRoot, "bin", "boxscope.js"),
      "--log-level",
      "warn",
      "exporter",
      "--listen",
      `127.0.0.1:${exporterPort}`,
    ],
    { env },
  );
  const exporterUrl = `http://127.0.0.1:${exporterPort}`;
  const scrape = async () => parseSamples(await (await fetch(`${exporterUrl}/metrics`)).text());
  await waitFor(
    `the exporter (${logTail("exporter")})`,
    async () => ((await fetch(`${exporterUrl}/healthz`)).ok ? true : undefined),
    30_000,
  );

  const prom = await startAlertingPrometheus(cleanups, {
    amPort: am.port,
    ruleFiles: ["*.rules.yml"],
    targets: { boxscope: `127.0.0.1:${exporterPort}` },
  });

  // containerd with its packaged defaults but a scratch root (its CRI plugin off: no CNI here),
  // then dockerd on that containerd, its data in scratch, without networking it cannot have here.
  const containerdConfig = join(dir, "containerd.toml");
  writeFileSync(containerdConfig, 'version = 2\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n');
  const containerd = inNamespace("containerd", CONTAINERD, [
    "--config",
    containerdConfig,
    "--root",
    join(dir, "containerd-root"),
  ]);
  const dockerConfig = join(dir, "daemon.json");
  // Its trust key would otherwise go to /etc/docker/key.json on the host.
  writeFileSync(dockerConfig, JSON.stringify({ "deprecated-key-path": join(dir, "docker-key.json") }));
  await waitFor(
    `containerd's socket (${logTail("containerd")})`,
    async () =>
      existsSync(`/proc/${containerd.pid}/root/run/containerd/containerd.sock`) ? true : undefined,
    30_000,
  );
  const dockerd = inNamespace("dockerd", DOCKERD, [
    "--config-file",
    dockerConfig,
    "--data-root",
    join(dir, "docker"),
    "--containerd",
    "/run/containerd/containerd.sock",
    "--iptables=false",
    "--ip6tables=false",
    "--bridge=none",
    "--storage-driver=vfs",
  ]);
  const dockerdPid = dockerd.pid as number;

  const dockerd1 = { process: "dockerd" };
  const containerd1 = { process: "containerd" };
  let s = await waitFor(
    `dockerd and containerd up and healthy on the default probes (${logTail("dockerd")}; ${logTail("exporter")})`,
    async () => {
      const x = await scrape();
      return value(x, "boxscope_process_healthy", dockerd1) === 1 &&
        value(x, "boxscope_process_healthy", containerd1) === 1
        ? x
        : undefined;
    },
    60_000,
  );
  assert.equal(value(s, "boxscope_process_up", dockerd1), 1);
  assert.equal(value(s, "boxscope_process_up", containerd1), 1);

  // Hung: the process is still there (up 1), but /_ping no longer answers.
  process.kill(dockerdPid, "SIGSTOP");
  const stoppedAt = Date.now();
  s = await waitFor(
    "the probe to mark the stopped dockerd unhealthy",
    async () => {
      const x = await scrape();
      return value(x, "boxscope_process_healthy", dockerd1) === 0 ? x : undefined;
    },
    60_000,
  );
  assert.equal(value(s, "boxscope_process_up", dockerd1), 1, "a stopped dockerd still runs");
  assert.ok(
    (value(s, "boxscope_process_probe_failures_total", { ...dockerd1, reason: "timeout" }) ?? 0) >= 1,
    "the failure is a timeout",
  );
  assert.equal(value(s, "boxscope_process_healthy", containerd1), 1, "containerd is not dockerd");
  const unhealthyAt = Date.now();

  const hung = (r: { alert: { labels: Record<string, string> } }) =>
    r.alert.labels.alertname === "BoxscopeKeyProcessHung" && r.alert.labels.process === "dockerd";
  const firing = await waitFor(
    "BoxscopeKeyProcessHung{process=dockerd} firing in Prometheus",
    async () => {
      const r = await promQuery(prom.url, 'ALERTS{alertname="BoxscopeKeyProcessHung",alertstate="firing"}');
      return r.length > 0 ? r : undefined;
    },
    120_000,
    1000,
  );
  assert.deepEqual(
    firing.map((f) => [f.metric.process, f.metric.severity]),
    [["dockerd", "critical"]],
  );
  await waitFor(
    "Alertmanager to notify the PE and the unassigned team of the hung dockerd",
    async () => (pe.received.some(hung) && team.received.some(hung) ? true : undefined),
    60_000,
  );
  const notifiedAt = Date.now();
  const toPe = pe.received.find(hung);
  assert.equal(toPe?.alert.status, "firing");
  assert.match(toPe?.alert.annotations.runbook_url ?? "", /docs\/runbooks\/BoxscopeKeyProcessHung\.md$/);
  assert.equal(team.received.find(hung)?.path, "/team/unassigned");
  t.diagnostic(
    `SIGSTOP → probe unhealthy ${unhealthyAt - stoppedAt} ms → PE notified ${notifiedAt - stoppedAt} ms (probe every 10 s, timeout 5 s; alert for 1m)`,
  );

  // Down: SIGKILL ends even a stopped process.
  process.kill(dockerdPid, "SIGKILL");
  await once(dockerd, "exit");
  s = await waitFor(
    "dockerd down in the exporter",
    async () => {
      const x = await scrape();
      return value(x, "boxscope_process_up", dockerd1) === 0 ? x : undefined;
    },
    30_000,
  );
  assert.equal(value(s, "boxscope_process_healthy", dockerd1), undefined, "a dead process is down, not hung");
  const down = (r: { alert: { labels: Record<string, string> } }) =>
    r.alert.labels.alertname === "BoxscopeKeyProcessDown" && r.alert.labels.process === "dockerd";
  await waitFor(
    "BoxscopeKeyProcessDown{process=dockerd} to reach the PE, and the hung alert to resolve",
    async () =>
      pe.received.some(down) && pe.received.some((r) => hung(r) && r.alert.status === "resolved")
        ? true
        : undefined,
    120_000,
    1000,
  );
});
