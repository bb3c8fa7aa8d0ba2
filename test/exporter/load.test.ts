import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import { cgroupsWritable, createContainerCgroup, enterCgroupScript } from "../helpers/container-cgroup.js";
import { requirePrereq } from "../helpers/prereq.js";
import { waitFor } from "../helpers/wait.js";
import { startTestExporter, value } from "./helpers.js";

test("standalone exporter: its own sampler gives a busy container a load and an idle one 0", {
  timeout: 60_000,
}, async (t) => {
  if (!requirePrereq(t, cgroupsWritable(), "needs root and writable cgroup hierarchies")) return;
  const [busy, idle] = [createContainerCgroup(), createContainerCgroup()];
  const children = [
    spawn("sh", ["-c", enterCgroupScript(busy, "sh -c 'while :; do :; done'")], { stdio: "ignore" }),
    spawn("sh", ["-c", enterCgroupScript(idle, "sleep 600")], { stdio: "ignore" }),
  ];
  t.after(() => {
    for (const c of children) c.kill("SIGKILL");
    busy.cleanup();
    idle.cleanup();
  });
  const exp = await startTestExporter({ kmsg: false, logRoot: "/" });
  t.after(() => exp.stop());
  // The first scrape lists the containers and the sampler tracks them; its next pass (≤ 5 s) samples.
  const s = await waitFor(
    "a sampled load for the busy container",
    async () => {
      const samples = await exp.samples();
      const l1 = value(samples, "boxscope_container_load1", { container_id: busy.id });
      return l1 !== undefined && l1 > 0 ? samples : undefined;
    },
    30_000,
    500,
  );
  const load = (name: string, id: string) => value(s, `boxscope_container_${name}`, { container_id: id });
  // One always-runnable thread: after n 5-s steps load1 = 1 − (1884/2048)^n > load5 > load15 > 0.
  assert.ok((load("load1", busy.id) ?? 0) >= (load("load5", busy.id) ?? 0));
  assert.ok((load("load5", busy.id) ?? 0) >= (load("load15", busy.id) ?? 0));
  assert.ok((load("load15", busy.id) ?? -1) >= 0);
  for (const n of ["load1", "load5", "load15"]) assert.equal(load(n, idle.id), 0, `idle ${n}`);
  // The same sample's thread counts: the busy loop is always runnable, the sleeper never.
  const threads = (id: string, state: string) =>
    value(s, "boxscope_container_threads_by_state", { container_id: id, state });
  assert.ok((threads(busy.id, "running") ?? 0) >= 1, "busy container: a running thread");
  assert.equal(threads(idle.id, "running"), 0);
  assert.equal(threads(idle.id, "uninterruptible"), 0);
});
