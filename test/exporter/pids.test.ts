import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { cgroupsWritable, createContainerCgroup, enterCgroupScript } from "../helpers/container-cgroup.js";
import { requirePrereq } from "../helpers/prereq.js";
import { waitFor } from "../helpers/wait.js";
import { startTestExporter, value } from "./helpers.js";

test("a pids-limited cgroup running 200 threads: container pids metrics match pids.current", {
  timeout: 60_000,
}, async (t) => {
  if (!requirePrereq(t, cgroupsWritable(), "needs root and writable cgroup hierarchies")) return;
  const cg = createContainerCgroup();
  t.after(() => cg.cleanup());
  cg.write("pids", "pids.max", "300");
  const pidsDir = cg.dirs.get("pids") ?? cg.dirs.get("unified");
  assert.ok(pidsDir);
  const spawnedAt = Date.now() / 1000;
  // One Node process whose libuv pool has 200 threads (created together on first pool use).
  const child = spawn(
    "sh",
    [
      "-c",
      enterCgroupScript(
        cg,
        `env UV_THREADPOOL_SIZE=200 ${process.execPath} -e "require('fs').readFile('/etc/hostname',()=>{}); setInterval(()=>{},1000)"`,
      ),
    ],
    { stdio: "ignore" },
  );
  t.after(() => child.kill("SIGKILL"));
  const current = () => Number(readFileSync(join(pidsDir, "pids.current"), "utf8"));
  await waitFor("200 threads in the cgroup", async () => (current() >= 200 ? true : undefined), 15_000);

  const exp = await startTestExporter({ kmsg: false, logRoot: "/" });
  t.after(() => exp.stop());
  const before = current();
  const s = await exp.samples();
  const after = current();
  const labels = { container_id: cg.id };
  const pids = value(s, "boxscope_container_pids", labels);
  assert.ok(pids !== undefined && pids >= 200, `boxscope_container_pids = ${pids}`);
  assert.ok(pids === before || pids === after, `metric ${pids} vs pids.current ${before}/${after}`);
  assert.equal(before, after, "thread count should be stable during the scrape");
  assert.equal(value(s, "boxscope_container_pids_limit", labels), 300);
  // Its start: the oldest process of the cgroup (the host's pid namespace), started just above;
  // btime is whole seconds, hence the second of slack each side.
  const started = value(s, "boxscope_container_start_time_seconds", labels);
  assert.ok(
    started !== undefined && started >= spawnedAt - 2 && started <= Date.now() / 1000 + 1,
    `start ${started} vs spawned at ${spawnedAt}`,
  );
  // Host-wide counts include these threads.
  assert.ok((value(s, "boxscope_host_threads") ?? 0) >= 200);
  assert.ok((value(s, "boxscope_host_processes") ?? 0) >= 1);
  assert.equal(value(s, "boxscope_host_pid_max"), Number(readFileSync("/proc/sys/kernel/pid_max", "utf8")));
  assert.equal(
    value(s, "boxscope_host_threads_max"),
    Number(readFileSync("/proc/sys/kernel/threads-max", "utf8")),
  );
});
