import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { cgroupsWritable, createContainerCgroup, enterCgroupScript } from "../helpers/container-cgroup.js";
import { requirePrereq } from "../helpers/prereq.js";
import { waitFor } from "../helpers/wait.js";
import { type Sample, startTestExporter, value } from "./helpers.js";

/**
 * The acceptance of the throttling and fork-failure signals, on real cgroups (v1 on a hybrid host,
 * the unified hierarchy on pure v2): the exporter's counters are the kernel's, and they move when
 * the kernel throttles or refuses a fork.
 */

test("a cgroup with a 0.2-CPU quota running a busy loop: throttled periods and seconds rise", {
  timeout: 60_000,
}, async (t) => {
  if (!requirePrereq(t, cgroupsWritable(), "needs root and writable cgroup hierarchies")) return;
  const cg = createContainerCgroup();
  t.after(() => cg.cleanup());
  cg.setCpuQuota(0.2);
  const exp = await startTestExporter({ kmsg: false, logRoot: "/" });
  t.after(() => exp.stop());
  const labels = { container_id: cg.id };
  const before = await exp.samples();
  assert.equal(value(before, "boxscope_container_cpu_limit_cpus", labels), 0.2);
  const throttledSeconds = (s: Sample[]) =>
    value(s, "boxscope_container_cpu_cfs_throttled_seconds_total", labels);
  const seconds0 = throttledSeconds(before);
  assert.ok(seconds0 !== undefined, "the throttled-seconds series exists before any load");

  const started = Date.now();
  const loop = spawn("sh", ["-c", enterCgroupScript(cg, `sh -c 'while :; do :; done'`)], { stdio: "ignore" });
  t.after(() => loop.kill("SIGKILL"));
  // 0.2 CPU of 100 ms periods: a busy loop exhausts the quota in every period it runs, so it is
  // throttled ~80 ms per period; half a second of throttling takes under a second of wall time.
  const after = await waitFor(
    "the busy loop to be throttled for 0.5 s",
    async () => {
      const s = await exp.samples();
      return (throttledSeconds(s) ?? 0) >= seconds0 + 0.5 ? s : undefined;
    },
    20_000,
    250,
  );
  const periods = value(after, "boxscope_container_cpu_cfs_periods_total", labels) ?? 0;
  const throttled = value(after, "boxscope_container_cpu_cfs_throttled_periods_total", labels) ?? 0;
  assert.ok(throttled >= 5, `${throttled} throttled periods`);
  assert.ok(periods >= throttled, `periods ${periods} ≥ throttled periods ${throttled}`);
  // The quota caps usage: 0.2 CPU, so the loop's CPU time stays well below the wall time it ran
  // (unthrottled it would be about equal).
  const usage = value(after, "boxscope_container_cpu_usage_seconds_total", labels) ?? 0;
  const wall = (Date.now() - started) / 1000;
  assert.ok(usage > 0 && usage < 0.5 * wall, `usage ${usage} s in ${wall} s of wall time`);
});

test("a pids-limited cgroup hitting its limit: fork failures rise and equal pids.events max", {
  timeout: 60_000,
}, async (t) => {
  if (!requirePrereq(t, cgroupsWritable(), "needs root and writable cgroup hierarchies")) return;
  const cg = createContainerCgroup();
  t.after(() => cg.cleanup());
  cg.write("pids", "pids.max", "4");
  const pidsDir = cg.dirs.get("pids") ?? cg.dirs.get("unified");
  assert.ok(pidsDir);
  const exp = await startTestExporter({ kmsg: false, logRoot: "/" });
  t.after(() => exp.stop());
  const labels = { container_id: cg.id };
  const before = await exp.samples();
  assert.equal(value(before, "boxscope_container_fork_failures_total", labels), 0);
  assert.equal(value(before, "boxscope_container_pids_limit", labels), 4);

  // The shell plus 3 sleeps fill the limit of 4; the 4th fork is refused (EAGAIN) and the shell
  // gives up (dash) or retries a few times (bash): either way the kernel counts every refusal.
  const forker = spawn(
    "sh",
    ["-c", enterCgroupScript(cg, `sh -c 'for i in 1 2 3 4 5 6; do sleep 3 & done; wait'`)],
    { stdio: "ignore" },
  );
  t.after(() => forker.kill("SIGKILL"));
  await once(forker, "exit");
  const kernel = Number(/^max (\d+)/m.exec(readFileSync(join(pidsDir, "pids.events"), "utf8"))?.[1]);
  assert.ok(kernel > 0, `pids.events max = ${kernel}: the limit refused no fork`);
  // A scrape within a second of the previous one may serve that one's collection (exporter.collectMaxAgeMs).
  let seen: number | undefined;
  await waitFor(
    `fork failures = pids.events max (${kernel})`,
    async () => {
      seen = value(await exp.samples(), "boxscope_container_fork_failures_total", labels);
      return seen === kernel ? true : undefined;
    },
    10_000,
    250,
  ).catch((e: Error) => assert.fail(`${e.message}; last seen ${seen}`));
});
