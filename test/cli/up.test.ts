import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { kafkaPrereq, startKafka, topicValues } from "../helpers/kafka.js";
import { listenNotifySocket } from "../helpers/notify-socket.js";
import { repoRoot } from "../helpers/paths.js";
import { hasCommand, isRoot, requirePrereq } from "../helpers/prereq.js";
import { waitFor } from "../helpers/wait.js";

interface UpProcess {
  child: ChildProcess;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: string | null }>;
  /** The exporter's address, once `up` logged it. */
  address(): Promise<string>;
}

/** `boxscope up` with these BOXSCOPE_* variables; killed when the test ends. */
function spawnUp(t: TestContext, env: Record<string, string>): UpProcess {
  let stderr = "";
  const child = spawn(process.execPath, [join(repoRoot, "bin/boxscope.js"), "up"], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, BOXSCOPE_EXPORTER_LISTEN: "127.0.0.1:0", BOXSCOPE_EXPORTER_KMSG: "false", ...env },
  });
  child.stderr?.on("data", (b: Buffer) => {
    stderr += b.toString();
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  return {
    child,
    stderr: () => stderr,
    exited,
    address: () =>
      waitFor(
        "exporter address",
        async () => /"address":"([^"]+)","msg":"exporter serving \/metrics"/.exec(stderr)?.[1],
        20_000,
        100,
      ),
  };
}

/** A log root with one container directory and the spool beside it, in a fresh temp dir. */
function logDirs(): { logRoot: string; spool: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), "boxscope-up-"));
  mkdirSync(join(dir, "log", "c1"), { recursive: true });
  return { dir, logRoot: join(dir, "log"), spool: join(dir, "spool") };
}

test("boxscope up runs shim, logwatcher and exporter together and stops cleanly on SIGTERM", {
  timeout: 60_000,
}, async (t) => {
  if (!requirePrereq(t, isRoot() && existsSync("/dev/fuse"), "needs root and /dev/fuse")) return;
  const { dir, logRoot, spool } = logDirs();
  const mountpoint = join(dir, "mnt");
  mkdirSync(mountpoint);
  const up = spawnUp(t, {
    BOXSCOPE_SHIM_MOUNTPOINT: mountpoint,
    BOXSCOPE_LOGWATCHER_LOG_ROOT: logRoot,
    BOXSCOPE_LOGWATCHER_SPOOL: spool,
    BOXSCOPE_EXPORTER_LOG_ROOT: logRoot,
  });
  t.after(() => spawn("umount", ["-l", mountpoint]));

  const address = await up.address();
  const meminfo = readFileSync(join(mountpoint, "proc/meminfo"), "utf8");
  assert.match(meminfo, /^MemTotal:\s+\d+ kB\n/);

  writeFileSync(join(logRoot, "c1", "app.log"), "hello\n");
  const link = await waitFor(
    "spool link",
    async () =>
      existsSync(join(spool, "c1__app.log")) ? readlinkSync(join(spool, "c1__app.log")) : undefined,
    20_000,
    100,
  );
  assert.equal(link, join(logRoot, "c1", "app.log"));

  const metrics = await (await fetch(`http://${address}/metrics`)).text();
  assert.match(metrics, /^boxscope_logwatcher_links 1$/m, "logwatcher metrics served by the exporter");
  assert.match(metrics, /^boxscope_host_pid_max \d+$/m, "exporter's own collectors");

  up.child.kill("SIGTERM");
  assert.deepEqual(await up.exited, { code: 0, signal: null }, up.stderr());
  const mounts = readFileSync("/proc/self/mounts", "utf8");
  assert.ok(!mounts.includes(mountpoint), "shim unmounted on SIGTERM");
});

test("boxscope up without Kafka brokers says so in one line and runs the rest", {
  timeout: 60_000,
}, async (t) => {
  const { logRoot, spool } = logDirs();
  const up = spawnUp(t, {
    BOXSCOPE_UP_SHIM: "off",
    BOXSCOPE_LOGWATCHER_LOG_ROOT: logRoot,
    BOXSCOPE_LOGWATCHER_SPOOL: spool,
    BOXSCOPE_EXPORTER_LOG_ROOT: logRoot,
  });
  const address = await up.address();
  writeFileSync(join(logRoot, "c1", "app.log"), "hello\n");
  await waitFor("spool link", async () => existsSync(join(spool, "c1__app.log")) || undefined, 20_000, 100);
  const metrics = await (await fetch(`http://${address}/metrics`)).text();
  assert.doesNotMatch(metrics, /^boxscope_ship_/m, "no shipper ran");
  up.child.kill("SIGTERM");
  assert.deepEqual(await up.exited, { code: 0, signal: null }, up.stderr());
  const shipLines = up
    .stderr()
    .split("\n")
    .filter((l) => l.includes('"part":"ship"'));
  assert.equal(shipLines.length, 1, up.stderr());
  assert.match(shipLines[0] ?? "", /no Kafka brokers configured \(set ship\.brokers/);
});

test("boxscope up with Kafka brokers configured ships the spool", { timeout: 180_000 }, async (t) => {
  const kafka = kafkaPrereq();
  if (!requirePrereq(t, kafka.present, kafka.why)) return;
  if (!requirePrereq(t, hasCommand("kcat"), "kcat (Debian kcat) reads the topic")) return;
  const broker = await startKafka();
  t.after(() => broker.destroy());
  const { dir, logRoot, spool } = logDirs();
  const lines = Array.from({ length: 1000 }, (_, i) => `line ${i}`);
  writeFileSync(join(logRoot, "c1", "app.log"), `${lines.join("\n")}\n`);
  const up = spawnUp(t, {
    BOXSCOPE_UP_SHIM: "off",
    BOXSCOPE_LOGWATCHER_LOG_ROOT: logRoot,
    BOXSCOPE_LOGWATCHER_SPOOL: spool,
    BOXSCOPE_EXPORTER_LOG_ROOT: logRoot,
    BOXSCOPE_SHIP_BROKERS: broker.brokers,
    BOXSCOPE_SHIP_TOPIC: "up-logs",
    BOXSCOPE_SHIP_POSITIONS: join(dir, "positions.json"),
  });
  const address = await up.address();
  const shipped = await waitFor(
    "1000 records in Kafka",
    async () => {
      const values = topicValues(broker.brokers, "up-logs");
      return values.length >= lines.length ? values : undefined;
    },
    120_000,
    1000,
  );
  assert.deepEqual(
    shipped.map((v) => (JSON.parse(v) as { line: string }).line),
    lines,
    "every line once, in order, from the spool the logwatcher built",
  );
  const metrics = await (await fetch(`http://${address}/metrics`)).text();
  assert.match(metrics, /^boxscope_ship_/m, "the shipper's metrics on the exporter's /metrics");
  up.child.kill("SIGTERM");
  assert.deepEqual(await up.exited, { code: 0, signal: null }, up.stderr());
  const positions = JSON.parse(readFileSync(join(dir, "positions.json"), "utf8")) as unknown;
  assert.ok(positions, "positions persisted at stop");
});

test("boxscope up under systemd (Type=notify) says ready once every part runs, and stopping on SIGTERM", {
  timeout: 60_000,
}, async (t) => {
  if (!requirePrereq(t, hasCommand("systemd-notify") && hasCommand("python3"), "systemd-notify and python3"))
    return;
  const { dir, logRoot, spool } = logDirs();
  const notify = await listenNotifySocket(join(dir, "notify.sock"));
  t.after(() => notify.close());
  const up = spawnUp(t, {
    NOTIFY_SOCKET: notify.path,
    BOXSCOPE_UP_SHIM: "off",
    BOXSCOPE_LOGWATCHER_LOG_ROOT: logRoot,
    BOXSCOPE_LOGWATCHER_SPOOL: spool,
    BOXSCOPE_EXPORTER_LOG_ROOT: logRoot,
  });
  await notify.until(() => notify.assignments().includes("READY=1"));
  // Ready means serving: the exporter answers at once.
  const address = await up.address();
  assert.equal((await fetch(`http://${address}/healthz`)).status, 200);
  assert.ok(
    notify.assignments().includes("STATUS=running: logwatcher, exporter"),
    notify.assignments().join(" "),
  );
  up.child.kill("SIGTERM");
  assert.deepEqual(await up.exited, { code: 0, signal: null }, up.stderr());
  assert.ok(notify.assignments().includes("STOPPING=1"), notify.assignments().join(" "));
});
