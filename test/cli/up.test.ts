import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { repoRoot } from "../helpers/paths.js";
import { isRoot, requirePrereq } from "../helpers/prereq.js";
import { waitFor } from "../helpers/prometheus.js";

test("boxscope up runs shim, logwatcher and exporter together and stops cleanly on SIGTERM", {
  timeout: 60_000,
}, async (t) => {
  if (!requirePrereq(t, isRoot() && existsSync("/dev/fuse"), "needs root and /dev/fuse")) return;
  const dir = mkdtempSync(join(tmpdir(), "boxscope-up-"));
  const mountpoint = join(dir, "mnt");
  const logRoot = join(dir, "log");
  const spool = join(dir, "spool");
  mkdirSync(mountpoint);
  mkdirSync(join(logRoot, "c1"), { recursive: true });
  let stderr = "";
  const child = spawn(process.execPath, [join(repoRoot, "bin/boxscope.js"), "up"], {
    stdio: ["ignore", "ignore", "pipe"],
    env: {
      ...process.env,
      BOXSCOPE_SHIM_MOUNTPOINT: mountpoint,
      BOXSCOPE_LOGWATCHER_LOG_ROOT: logRoot,
      BOXSCOPE_LOGWATCHER_SPOOL: spool,
      BOXSCOPE_EXPORTER_LISTEN: "127.0.0.1:0",
      BOXSCOPE_EXPORTER_LOG_ROOT: logRoot,
      BOXSCOPE_EXPORTER_KMSG: "false",
    },
  });
  child.stderr.on("data", (b: Buffer) => {
    stderr += b.toString();
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    spawn("umount", ["-l", mountpoint]);
  });

  const address = await waitFor(
    "exporter address",
    async () => /"address":"([^"]+)","msg":"exporter serving \/metrics"/.exec(stderr)?.[1],
    20_000,
    100,
  );
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

  child.kill("SIGTERM");
  assert.deepEqual(await exited, { code: 0, signal: null }, stderr);
  const mounts = readFileSync("/proc/self/mounts", "utf8");
  assert.ok(!mounts.includes(mountpoint), "shim unmounted on SIGTERM");
});
