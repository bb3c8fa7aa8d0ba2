import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { promisify } from "node:util";
import { parse as parseYaml } from "yaml";
import { chartConfigYaml, daemonSetPodSpec, type PodSpec, renderChart } from "../helpers/helm.js";
import { kafkaPrereq, startKafka, topicCount, topicValues } from "../helpers/kafka.js";
import { repoRoot } from "../helpers/paths.js";
import { podmanRunArgs } from "../helpers/podman-pod.js";
import { hasCommand, isRoot, requirePrereq } from "../helpers/prereq.js";
import { freePort } from "../helpers/prometheus.js";
import { type Bind, createRuncLab, runcAvailable } from "../helpers/runc.js";
import { waitFor } from "../helpers/wait.js";

const version = (JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string })
  .version;
const image = `localhost/boxscope:${version}`;

const runFile = promisify(execFile);
const sh = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: "utf8", timeout: 120_000 });

/** Everything the image test needs; the image itself is built by `npm run image` (CI's setup). */
function imagePrereq(): { present: boolean; why: string } {
  const missing = [
    isRoot() ? "" : "root",
    existsSync("/dev/fuse") ? "" : "/dev/fuse",
    hasCommand("podman") ? "" : "podman",
    hasCommand("helm") ? "" : "helm",
    runcAvailable() ? "" : "runc, busybox-static, procps",
    hasCommand("podman") && sh("podman", ["image", "exists", image]).status === 0
      ? ""
      : `${image} (npm run image)`,
  ].filter((m) => m !== "");
  return { present: missing.length === 0, why: `the image test needs ${missing.join(", ")}` };
}

/** Host paths the DaemonSet mounts, relocated under one test directory. */
interface HostPaths {
  mountpoint: string;
  logRoot: string;
  run: string;
  positions: string;
  /** runtimeSockets.hostRun: where the runtimes' sockets are (the host's /run on a node). */
  runtimeRun: string;
}

interface DeployedPod {
  readonly name: string;
  readonly hostPaths: HostPaths;
  /** The exporter's /metrics text. */
  metrics(): Promise<string>;
  /** `podman stop` (SIGTERM, as the kubelet stops a pod); resolves with the container's exit code. */
  stop(): Promise<number>;
  /** Host pid of the boxscope process (tini's child). */
  daemonPid(): number;
  /** The rendered boxscope.yaml the pod runs with. */
  readonly config: string;
}

/**
 * Runs the image with podman exactly as the chart's DaemonSet runs it, host paths relocated under
 * `dir`. `values` are extra `helm --set` values.
 */
async function runAsDaemonSet(
  t: TestContext,
  dir: string,
  values: Record<string, string>,
): Promise<DeployedPod> {
  // Bidirectional propagation needs the host side on a shared mount. Hosts booted by systemd mount /
  // shared; this test host mounts it private, so the test directory is made a shared mount of its own.
  assert.equal(sh("mount", ["--bind", dir, dir]).status, 0);
  assert.equal(sh("mount", ["--make-rshared", dir]).status, 0);
  const name = `boxscope-test-${randomBytes(4).toString("hex")}`;
  // One hook, in this order: the container, then the shared mount, then the files under it.
  t.after(() => {
    if (process.env.BOXSCOPE_TEST_DEBUG) console.error(sh("podman", ["logs", name]).stderr);
    sh("podman", ["rm", "-f", "-t", "0", name]);
    sh("umount", ["-l", dir]);
    rmSync(dir, { recursive: true, force: true });
  });
  const hostPaths: HostPaths = {
    mountpoint: join(dir, "var/lib/boxscope"),
    logRoot: join(dir, "app/log"),
    run: join(dir, "run/boxscope"),
    positions: join(dir, "var/lib/boxscope-ship"),
    runtimeRun: join(dir, "host-run"),
  };
  // A node always has its /run (the chart's hostPath type Directory creates nothing).
  mkdirSync(hostPaths.runtimeRun, { recursive: true });
  const port = await freePort();
  const objects = await renderChart({
    "image.repository": "localhost/boxscope",
    "image.tag": version,
    "hostPaths.views": hostPaths.mountpoint,
    "hostPaths.logRoot": hostPaths.logRoot,
    "hostPaths.podLogs": join(dir, "var/log/pods"),
    "hostPaths.run": hostPaths.run,
    "hostPaths.positions": hostPaths.positions,
    "runtimeSockets.hostRun": hostPaths.runtimeRun,
    "config.exporter.listen": `0.0.0.0:${port}`,
    ...values,
  });
  const configMaps = new Map<string, Record<string, string>>();
  for (const o of objects) {
    if (o.kind === "ConfigMap") configMaps.set(o.metadata.name, o.data ?? {});
  }
  const pod = daemonSetPodSpec(objects);
  const built = sh("podman", [
    "image",
    "inspect",
    "--format",
    '{{index .Labels "org.opencontainers.image.revision"}}',
    image,
  ]);
  const head = sh("git", ["-C", repoRoot, "rev-parse", "HEAD"]);
  if (built.stdout.trim() !== head.stdout.trim())
    t.diagnostic(
      `${image} was built from ${built.stdout.trim()}, the checkout is at ${head.stdout.trim()}: npm run image`,
    );
  // runc on this sandboxed test host refuses podman's default rlimits for root ("error setting
  // rlimit"), as deploy/image/build.sh says; the kubelet's container runtime sets its own.
  const hard = Number(sh("sh", ["-c", "ulimit -Hn"]).stdout.trim());
  const { args } = podmanRunArgs(pod, "boxscope", configMaps, dir, [
    "-d",
    `--name=${name}`,
    `--ulimit=nofile=${hard}:${hard}`,
    "--ulimit=nproc=32768:32768",
    // On cgroup v2 nodes the kubelet's runtime gives every container a cgroup namespace of its own;
    // the image must see the host's containers through one all the same.
    "--cgroupns=private",
  ]);
  const run = sh("podman", ["run", ...args]);
  assert.equal(run.status, 0, `podman run ${args.join(" ")}: ${run.stderr}`);
  const logs = () => sh("podman", ["logs", name]).stderr;
  const metrics = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  await waitFor(
    "the exporter in the image to serve",
    () => metrics().catch(() => undefined),
    60_000,
    250,
  ).catch((e: Error) => assert.fail(`${e.message}\n${logs()}`));
  const config = chartConfigYaml(objects);
  return {
    name,
    hostPaths,
    config,
    metrics,
    async stop() {
      const stop = sh("podman", ["stop", "-t", "60", name]);
      assert.equal(stop.status, 0, stop.stderr);
      return Number(sh("podman", ["inspect", "--format", "{{.State.ExitCode}}", name]).stdout.trim());
    },
    daemonPid() {
      const tini = sh("podman", ["inspect", "--format", "{{.State.Pid}}", name]).stdout.trim();
      const children = readFileSync(`/proc/${tini}/task/${tini}/children`, "utf8").trim().split(" ");
      assert.equal(children.length, 1, `tini's children: ${children.join(" ")}`);
      return Number(children[0]);
    },
  };
}

const fuseMountAt = (path: string): boolean =>
  readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .some((l) => l.split(" ")[1] === path && l.split(" ")[2]?.startsWith("fuse"));

/** The bind mounts deploy/kubernetes-volumes.yaml gives a workload, host side under `mountpoint`. */
function workloadBinds(mountpoint: string): Bind[] {
  const pod = parseYaml(readFileSync(join(repoRoot, "deploy/kubernetes-volumes.yaml"), "utf8")) as {
    spec: PodSpec & { volumes: Array<{ name: string; hostPath: { path: string } }> };
  };
  const volumes = new Map(pod.spec.volumes.map((v) => [v.name, v.hostPath?.path]));
  const mounts = (pod.spec.containers[0]?.volumeMounts ?? []) as Array<{ name: string; mountPath: string }>;
  return mounts.map((m) => {
    const source = volumes.get(m.name) ?? "";
    assert.ok(source.startsWith("/var/lib/boxscope/"), `${m.name} binds from the mount: ${source}`);
    return { source: join(mountpoint, source.slice("/var/lib/boxscope/".length)), destination: m.mountPath };
  });
}

test("the image runs as the chart's DaemonSet: host mount, a container's own numbers, metrics, logs to Kafka, clean stop", {
  timeout: 600_000,
}, async (t) => {
  const pre = imagePrereq();
  if (!requirePrereq(t, pre.present, pre.why)) return;
  const kafka = kafkaPrereq();
  if (!requirePrereq(t, kafka.present && hasCommand("kcat"), `${kafka.why}; kcat reads the topic`)) return;
  const broker = await startKafka();
  t.after(() => broker.destroy());
  const dir = mkdtempSync(join(tmpdir(), "boxscope-image-"));
  const topic = "image-logs";
  const pod = await runAsDaemonSet(t, dir, {
    "config.ship.brokers": broker.brokers,
    "config.ship.topic": topic,
  });
  const { mountpoint, logRoot, run } = pod.hostPaths;

  await waitFor(
    "the shim's mount on the host",
    async () => fuseMountAt(mountpoint) || undefined,
    60_000,
    250,
  );
  assert.match(readFileSync(join(mountpoint, "proc/meminfo"), "utf8"), /^MemTotal:\s+\d+ kB\n/);

  // A workload with the chart's documented volume mounts and a 256 MiB / 1 CPU limit.
  const labDir = mkdtempSync(join(tmpdir(), "boxscope-image-lab-"));
  const lab = createRuncLab(labDir, "image");
  t.after(async () => {
    await lab.destroy();
    rmSync(labDir, { recursive: true, force: true });
  });
  const id = randomBytes(32).toString("hex");
  const workload = await lab.start({
    name: id,
    memoryBytes: 256 << 20,
    cpus: "0",
    quotaCpus: 1,
    binds: workloadBinds(mountpoint),
  });
  // The first read is already the container's own, though runc stats the bind sources before it
  // writes the limits: nothing of a container's first seconds is kept (docs/views.md).
  const first = await workload.exec("head -1 /proc/meminfo");
  assert.match(first.stdout, /^MemTotal:\s+262144 kB$/m, `the workload's first read: ${first.stdout}`);
  // procps's free, as in the shim's own runc tests (busybox's free takes totals from sysinfo(2)).
  const free = await workload.exec("/usr/bin/free -m");
  assert.equal(free.code, 0, free.stderr);
  assert.match(free.stdout, /^Mem:\s+256\s/m, free.stdout);
  const cpus = await workload.exec("grep -c ^processor /proc/cpuinfo; cat /sys/devices/system/cpu/online");
  assert.equal(cpus.stdout, "1\n0\n");

  const limitLine = await waitFor(
    "the workload in the exporter's metrics",
    async () =>
      (await pod.metrics())
        .split("\n")
        .find((l) => l.startsWith("boxscope_container_memory_limit_bytes{") && l.includes(id)),
    60_000,
    1000,
  );
  assert.match(limitLine, / 268435456$/);

  // A runtime started after the pod: its socket appears in the host's run directory and the
  // exporter's probe path for it (the chart's rendered config) answers inside the pod, though the
  // mount is read-only (connect() writes nothing). The listener stands in for dockerd's /_ping.
  const dockerSocket = join(pod.hostPaths.runtimeRun, "docker.sock");
  const dockerd = createHttpServer((req, res) => res.end(req.url === "/_ping" ? "OK" : "?"));
  await new Promise<void>((resolve) => dockerd.listen(dockerSocket, resolve));
  t.after(() => dockerd.close());
  const probes = (
    parseYaml(pod.config) as { exporter: { keyProcesses: { name: string; probe: { socket: string } }[] } }
  ).exporter.keyProcesses;
  const probeSocket = probes.find((k) => k.name === "dockerd")?.probe.socket ?? "";
  assert.equal(probeSocket, "/host/run/docker.sock");
  // Asynchronously: the listener answers from this process's event loop.
  const ping = await runFile(
    "podman",
    [
      "exec",
      pod.name,
      "node",
      "-e",
      `require("http").get({ socketPath: ${JSON.stringify(probeSocket)}, path: "/_ping" }, (r) => r.pipe(process.stdout)).on("error", (e) => { console.error(e.code); process.exit(1); })`,
    ],
    { encoding: "utf8", timeout: 60_000 },
  ).catch((e: Error & { stderr?: string }) =>
    assert.fail(`GET /_ping over ${probeSocket} in the pod: ${e.stderr ?? e.message}`),
  );
  assert.equal(ping.stdout, "OK");

  mkdirSync(join(logRoot, "web"), { recursive: true });
  writeFileSync(join(logRoot, "web", "app.log"), "written on the host\n");
  await waitFor(
    "the spool link",
    async () => existsSync(join(run, "spool", "web__app.log")) || undefined,
    30_000,
  );
  const shipped = await waitFor(
    "the line in Kafka",
    async () => {
      const values = topicValues(broker.brokers, topic);
      return values.length > 0 ? values : undefined;
    },
    120_000,
    1000,
  );
  assert.deepEqual(
    shipped.map((v) => (JSON.parse(v) as { line: string }).line),
    ["written on the host"],
  );

  await lab.destroy();
  assert.equal(await pod.stop(), 0, "SIGTERM stops the container cleanly");
  assert.ok(!fuseMountAt(mountpoint), "no stale mount left on the host");
});

/** The memory cgroup a process is charged to: its peak and how often its limit OOM-killed. */
function memoryCgroupOf(pid: number): { peakBytes: number; limitBytes: number; oomKills: number } {
  const lines = readFileSync(`/proc/${pid}/cgroup`, "utf8").split("\n");
  const v1 = lines.find((l) => /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(l));
  if (v1) {
    const dir = join("/sys/fs/cgroup/memory", v1.slice(v1.lastIndexOf(":") + 1));
    const read = (f: string) => readFileSync(join(dir, f), "utf8");
    return {
      peakBytes: Number(read("memory.max_usage_in_bytes")),
      limitBytes: Number(read("memory.limit_in_bytes")),
      oomKills: Number(/^oom_kill (\d+)$/m.exec(read("memory.oom_control"))?.[1] ?? 0),
    };
  }
  const v2 = lines.find((l) => l.startsWith("0::")) ?? "";
  const dir = join("/sys/fs/cgroup", v2.slice(3));
  const read = (f: string) => readFileSync(join(dir, f), "utf8");
  return {
    peakBytes: Number(read("memory.peak")),
    limitBytes: Number(read("memory.max")),
    oomKills: Number(/^oom_kill (\d+)$/m.exec(read("memory.events"))?.[1] ?? 0),
  };
}

test("with the chart's default limits a 200 MB log burst ships whole and the pod stays within its memory limit", {
  timeout: 900_000,
}, async (t) => {
  const pre = imagePrereq();
  if (!requirePrereq(t, pre.present, pre.why)) return;
  const kafka = kafkaPrereq();
  if (!requirePrereq(t, kafka.present, kafka.why)) return;
  const broker = await startKafka();
  t.after(() => broker.destroy());
  const dir = mkdtempSync(join(tmpdir(), "boxscope-image-burst-"));
  const topic = "burst";
  const pod = await runAsDaemonSet(t, dir, {
    "config.ship.brokers": broker.brokers,
    "config.ship.topic": topic,
  });

  // Four containers write 50 MB each as fast as the disk takes it: 200-byte lines.
  const containers = 4;
  const linesPerContainer = 250_000;
  const chunkLines = 5000;
  for (let c = 0; c < containers; c++) {
    const d = join(pod.hostPaths.logRoot, `burst${c}`);
    mkdirSync(d, { recursive: true });
    for (let i = 0; i < linesPerContainer; i += chunkLines) {
      let chunk = "";
      for (let j = i; j < i + chunkLines; j++)
        chunk += `burst${c} ${String(j).padStart(9, "0")} ${"x".repeat(182)}\n`;
      writeFileSync(join(d, "app.log"), chunk, { flag: "a" });
    }
  }
  const total = containers * linesPerContainer;
  await waitFor(
    `${total} lines acknowledged by Kafka`,
    async () => {
      const text = await pod.metrics();
      const shipped = Number(/^boxscope_ship_lines_total (\S+)$/m.exec(text)?.[1] ?? 0);
      return shipped >= total ? shipped : undefined;
    },
    600_000,
    2000,
  );
  assert.equal(await topicCount(broker.brokers, topic), total, "every line once");

  const pid = pod.daemonPid();
  const hwmKb = Number(/^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
  const cgroup = memoryCgroupOf(pid);
  const mb = (b: number) => Math.round(b / (1 << 20));
  const report = `200 MB burst: boxscope peak RSS ${Math.round(hwmKb / 1024)} MiB; pod memory cgroup peak ${mb(cgroup.peakBytes)} MiB (page cache included) of its ${mb(cgroup.limitBytes)} MiB limit; OOM kills ${cgroup.oomKills}`;
  t.diagnostic(report);
  console.log(report);
  assert.equal(cgroup.oomKills, 0, report);
  assert.ok(hwmKb * 1024 < cgroup.limitBytes, report);
  assert.equal(await pod.stop(), 0, "SIGTERM stops the container cleanly");
});
