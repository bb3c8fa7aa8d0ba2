/**
 * The live cgroup tests, the shim's live and runc views, the systemd and Kubernetes cgroup layouts,
 * the shim's daemon-restart repair, the exporter's OOM, pids, load and network tests and `boxscope
 * up`'s shared load average again, in a pure cgroup v2 guest (this host is a v1+v2 hybrid, where
 * they run against v1): one boot for the whole list, each inner test reported as a subtest here.
 * They also run on the host as usual. fuse-mount.test.ts passes in the guest too but is left out:
 * its thousand concurrent readers take minutes under software emulation.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { requirePrereq } from "../helpers/prereq.js";
import { checkInnerResults, runInV2Guest, v2GuestLogPath, v2GuestUnavailable } from "../helpers/v2-guest.js";

/** Compiled test files run inside the guest, relative to the repository root. */
const GUEST_FILES = [
  "dist/test/cgroup/live.test.js",
  "dist/test/shim/runc-views.test.js",
  "dist/test/shim/views-live.test.js",
  "dist/test/shim/runc-restart.test.js",
  "dist/test/shim/runc-layouts.test.js",
  "dist/test/exporter/oom.test.js",
  "dist/test/exporter/pids.test.js",
  "dist/test/exporter/load.test.js",
  "dist/test/exporter/network.test.js",
  "dist/test/cli/up-loadavg.test.js",
  "dist/test/exporter/throttle-forks.test.js",
];

test("v2 guest: the live cgroup, shim view, cgroup layout and exporter OOM/pids/throttling/load/network tests pass on a pure cgroup v2 kernel", {
  timeout: 20 * 60_000,
}, async (t) => {
  const unavailable = v2GuestUnavailable();
  if (!requirePrereq(t, unavailable === undefined, unavailable ?? "")) return;
  const run = await runInV2Guest(GUEST_FILES, { logPath: v2GuestLogPath("suite"), timeoutMs: 18 * 60_000 });
  t.diagnostic(`guest kernel ${run.kernel}, /sys/fs/cgroup ${run.cgroupFs}: ${run.controllers.join(" ")}`);
  t.diagnostic(`guest wall time ${(run.wallMs / 1000).toFixed(1)} s, console log ${run.logPath}`);
  for (const c of ["cpuset", "cpu", "io", "memory", "pids"])
    assert.ok(run.controllers.includes(c), `controller ${c} in the guest's cgroup.controllers`);
  await checkInnerResults(t, run);
});
