import assert from "node:assert/strict";
import { test } from "node:test";
import {
  cgroupsWritable,
  createContainerCgroup,
  kmsgReadable,
  oomKill,
  randomId,
} from "../helpers/container-cgroup.js";
import { requirePrereq } from "../helpers/prereq.js";
import { waitFor } from "../helpers/wait.js";
import { startTestExporter, value } from "./helpers.js";

test("a 32 MiB cgroup's OOM kill is counted within 2 s from the cgroup and from /dev/kmsg, even after the container is gone", {
  timeout: 60_000,
}, async (t) => {
  if (!requirePrereq(t, cgroupsWritable(), "needs root and a writable memory cgroup hierarchy")) return;
  if (!requirePrereq(t, kmsgReadable(), "needs read access to /dev/kmsg")) return;
  const parent = `boxscope-test-exporter-${randomId()}`;
  const a = createContainerCgroup(parent);
  t.after(() => a.cleanup());
  a.write("memory", "limit", String(32 * 1024 * 1024));
  a.write("memory", "swap", String(32 * 1024 * 1024));

  const exp = await startTestExporter({ kmsgPollMs: 100, logRoot: "/" });
  t.after(() => exp.stop());
  const labels = { container_id: a.id };
  const before = await exp.samples();
  assert.equal(value(before, "boxscope_container_oom_kills_total", { ...labels, source: "cgroup" }), 0);
  assert.equal(value(before, "boxscope_container_memory_limit_bytes", labels), 32 * 1024 * 1024);

  const kill = await oomKill(a);
  assert.equal(kill.signal, "SIGKILL", "the hog should be OOM-killed");
  const seen = await waitFor(
    "both OOM counters to reach 1",
    async () => {
      const s = await exp.samples();
      const cg = value(s, "boxscope_container_oom_kills_total", { ...labels, source: "cgroup" });
      const km = value(s, "boxscope_container_oom_kills_total", { ...labels, source: "kmsg" });
      return cg === 1 && km === 1 ? s : undefined;
    },
    5000,
    50,
  );
  const detectedMs = Date.now() - kill.at;
  assert.ok(detectedMs <= 2000, `OOM kill detected after ${detectedMs} ms (want ≤ 2000)`);
  // A container's own kill is its BoxscopeContainerOOMKilled; the kernel rule counts host-wide OOM only.
  assert.equal(
    value(seen, "boxscope_log_pattern_matches_total", { rule: "kernel_oom_kill", source: "kmsg" }),
    0,
  );
  assert.equal(
    value(seen, "boxscope_host_health_status"),
    4,
    "a recent OOM kill sets health code 4 (no lower code failing here)",
  );

  // Recreated right after the kill: the cgroup (and its counter) is gone before any scrape; the
  // kernel-log counter still attributes the kill to the container id.
  const b = createContainerCgroup(parent);
  t.after(() => b.cleanup());
  b.write("memory", "limit", String(32 * 1024 * 1024));
  b.write("memory", "swap", String(32 * 1024 * 1024));
  await oomKill(b);
  b.cleanup();
  const after = await waitFor(
    "the kmsg counter of the removed container",
    async () => {
      const s = await exp.samples();
      return value(s, "boxscope_container_oom_kills_total", { container_id: b.id, source: "kmsg" }) === 1
        ? s
        : undefined;
    },
    5000,
    50,
  );
  assert.equal(
    value(after, "boxscope_container_oom_kills_total", { container_id: b.id, source: "cgroup" }),
    undefined,
  );
  assert.equal(
    value(after, "boxscope_container_info", { container_id: b.id }),
    undefined,
    "vanished container's series are gone",
  );
});
