import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { test } from "node:test";
import { randomId } from "../helpers/container-cgroup.js";
import { waitFor } from "../helpers/wait.js";
import { startTestExporter, value } from "./helpers.js";

test("a watched key process: up 1, down 0 when stopped, up again with restarts +1", {
  timeout: 30_000,
}, async (t) => {
  // A unique command line so nothing else on the host matches.
  const marker = `${1_000_000 + Math.floor(Math.random() * 1_000_000)}`;
  const name = `keyproc_${randomId()}`;
  const start = (): ChildProcess => spawn("sleep", [marker], { stdio: "ignore" });
  let proc = start();
  t.after(() => proc.kill("SIGKILL"));
  await once(proc, "spawn");

  const exp = await startTestExporter({
    kmsg: false,
    logRoot: "/",
    keyProcesses: [{ name, pattern: `^sleep ${marker}$`, match: "cmdline" }],
  });
  t.after(() => exp.stop());
  const labels = { process: name };
  let s = await exp.samples();
  assert.equal(value(s, "boxscope_process_up", labels), 1);
  assert.equal(value(s, "boxscope_process_instances", labels), 1);
  assert.equal(value(s, "boxscope_process_restarts_total", labels), 0);
  const startedAt = value(s, "boxscope_process_start_time_seconds", labels);
  assert.ok(
    startedAt !== undefined && Math.abs(startedAt - Date.now() / 1000) < 60,
    `start time ${startedAt}`,
  );

  proc.kill("SIGTERM");
  await once(proc, "exit");
  // A scrape within a second of the previous one may serve that one's collection (collectMaxAgeMs).
  s = await waitFor(
    "the key process down",
    async () => {
      const x = await exp.samples();
      return value(x, "boxscope_process_up", labels) === 0 ? x : undefined;
    },
    5000,
  );
  assert.equal(value(s, "boxscope_process_instances", labels), 0);
  assert.equal(value(s, "boxscope_process_start_time_seconds", labels), undefined);
  assert.equal(value(s, "boxscope_host_health_check_failing", { check: "key_process", code: "5" }), 1);
  assert.ok(
    (value(s, "boxscope_host_health_status") ?? 0) >= 1,
    "health is not ok while a key process is down",
  );

  // Start time has 10 ms resolution: make sure the new instance starts at a different tick.
  await new Promise((r) => setTimeout(r, 50));
  proc = start();
  await once(proc, "spawn");
  s = await waitFor(
    "the key process back up",
    async () => {
      const x = await exp.samples();
      return value(x, "boxscope_process_up", labels) === 1 ? x : undefined;
    },
    5000,
  );
  assert.equal(value(s, "boxscope_process_restarts_total", labels), 1);
  assert.equal(value(s, "boxscope_process_instances", labels), 1);
});
