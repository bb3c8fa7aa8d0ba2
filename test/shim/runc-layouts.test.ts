/**
 * The cgroup layouts real hosts use, not only `/docker/<id>`: Docker with the systemd driver
 * (`system.slice/docker-<id>.scope`) and a Kubernetes Burstable pod (`kubepods.slice/
 * kubepods-burstable.slice/kubepods-burstable-pod<uid>.slice/cri-containerd-<id>.scope`), every
 * container in a cgroup namespace of its own, as Docker and containerd run them on a cgroup v2 host.
 * The pod slice carries the pod's limits; one container has none of its own (memory.max = max), so
 * its limits are the slice's, the minimum over its ancestors. The same containers are checked
 * through the shim (what tools inside see) and through the exporter (what it attributes to them).
 * Runs on this hybrid host (v1 limits) and in the pure v2 guest (test/v2guest).
 */
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { test } from "node:test";
import { startTestExporter, value } from "../exporter/helpers.js";
import { isRoot, requirePrereq } from "../helpers/prereq.js";
import { type RuncContainer, runcAvailable } from "../helpers/runc.js";
import { hasDevFuse } from "./fuse-daemon.js";
import { startRuncLabWithMount } from "./runc-mount.js";

const MiB = 1 << 20;
const pureV2 = existsSync("/sys/fs/cgroup/cgroup.controllers");

// busybox sh runs its own applets before PATH: name the procps binaries.
const TOOLS =
  "cat /proc/self/cgroup; echo @@; /usr/bin/free -m; echo @@; /usr/bin/getconf _NPROCESSORS_ONLN; echo @@; cat /proc/cpuinfo; echo @@; cat /proc/uptime";

interface Seen {
  cgroup: string;
  memTotalMiB: number;
  onlineCpus: number;
  cpuinfoProcessors: number;
  uptimeSec: number;
}

async function look(c: RuncContainer): Promise<Seen> {
  const r = await c.exec(TOOLS);
  assert.equal(r.code, 0, `tools in ${c.name} failed: ${r.stderr}`);
  const [cgroup = "", free = "", online = "", cpuinfo = "", uptime = ""] = r.stdout.split("@@\n");
  const mem = free.split("\n").find((l) => l.startsWith("Mem:"));
  return {
    cgroup,
    memTotalMiB: Number(mem?.trim().split(/\s+/)[1]),
    onlineCpus: Number(online.trim()),
    cpuinfoProcessors: cpuinfo.split("\n").filter((l) => l.startsWith("processor")).length,
    uptimeSec: Number(uptime.split(" ")[0]),
  };
}

const hex64 = (): string => randomBytes(32).toString("hex");

test("systemd-driver Docker and Kubernetes pod layouts: containers in private cgroup namespaces see their own or their pod's limits, and the exporter attributes them", {
  timeout: 300_000,
}, async (t) => {
  if (!requirePrereq(t, isRoot() && hasDevFuse(), "needs root and /dev/fuse")) return;
  if (!requirePrereq(t, runcAvailable(), "needs runc, busybox-static, procps and sysstat")) return;
  const { lab, daemon, binds } = await startRuncLabWithMount(t, "layouts");

  const podUid = randomUUID();
  const pod = `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${podUid.replaceAll("-", "_")}.slice`;
  lab.slice(pod, { memoryBytes: 320 * MiB, quotaCpus: 1 });
  const ids = { docker: hex64(), app: hex64(), sidecar: hex64() };
  const [docker, app, sidecar] = await Promise.all([
    lab.start({
      name: "docker",
      cgroup: `system.slice/docker-${ids.docker}.scope`,
      memoryBytes: 256 * MiB,
      cpus: "0-1",
      quotaCpus: 2,
      binds,
      cgroupns: true,
    }),
    // No limits of its own: memory.max = max, no quota, the pod's cpuset.
    lab.start({ name: "app", cgroup: `${pod}/cri-containerd-${ids.app}.scope`, binds, cgroupns: true }),
    lab.start({
      name: "sidecar",
      cgroup: `${pod}/cri-containerd-${ids.sidecar}.scope`,
      memoryBytes: 192 * MiB,
      cpus: "1",
      quotaCpus: 0.5,
      binds,
      cgroupns: true,
    }),
  ]);

  // Read at once: a container's first reads must already be its own (no reading from before its
  // runtime wrote the limits is served again).
  const [d, a, s] = await Promise.all([look(docker), look(app), look(sidecar)]);
  for (const [seen, c] of [
    [d, docker],
    [a, app],
    [s, sidecar],
  ] as const) {
    // A private cgroup namespace: the container's own cgroup is its root.
    if (pureV2) assert.equal(seen.cgroup, "0::/\n", `/proc/self/cgroup in ${c.name}`);
    else assert.match(seen.cgroup, /^\d+:memory:\/$/m, `/proc/self/cgroup in ${c.name}: ${seen.cgroup}`);
    assert.ok(seen.uptimeSec >= 0 && seen.uptimeSec < 120, `${c.name}'s own uptime: ${seen.uptimeSec}`);
  }
  assert.deepEqual(
    [d.memTotalMiB, d.onlineCpus, d.cpuinfoProcessors],
    [256, 2, 2],
    "systemd-driver docker scope: its own 256 MiB, two CPUs",
  );
  assert.deepEqual(
    [a.memTotalMiB, a.onlineCpus, a.cpuinfoProcessors],
    [320, 1, 1],
    "pod container with memory.max = max: the pod slice's 320 MiB and one CPU",
  );
  assert.deepEqual(
    [s.memTotalMiB, s.onlineCpus, s.cpuinfoProcessors],
    [192, 1, 1],
    "pod container with its own limits under the pod's: 192 MiB, half a CPU on cpuset 1",
  );

  const exp = await startTestExporter({ kmsg: false, logRoot: "/" });
  t.after(() => exp.stop());
  const samples = await exp.samples();
  const expected = [
    { id: ids.docker, runtime: "docker", podUid: "", memory: 256 * MiB, cpus: 2 },
    { id: ids.app, runtime: "containerd", podUid, memory: 320 * MiB, cpus: 1 },
    { id: ids.sidecar, runtime: "containerd", podUid, memory: 192 * MiB, cpus: 0.5 },
  ];
  for (const e of expected) {
    const labels = { container_id: e.id };
    assert.equal(
      value(samples, "boxscope_container_info", { ...labels, runtime: e.runtime, pod_uid: e.podUid }),
      1,
      `container_info for ${e.id.slice(0, 12)} (${e.runtime}, pod ${e.podUid || "none"})`,
    );
    assert.equal(value(samples, "boxscope_container_memory_limit_bytes", labels), e.memory, "memory limit");
    assert.equal(value(samples, "boxscope_container_cpu_limit_cpus", labels), e.cpus, "CPU limit");
    assert.ok((value(samples, "boxscope_container_memory_usage_bytes", labels) ?? 0) > 0, "memory usage");
    assert.ok((value(samples, "boxscope_container_cpu_usage_seconds_total", labels) ?? 0) > 0, "CPU usage");
    assert.ok((value(samples, "boxscope_container_pids", labels) ?? 0) >= 1, "pids");
  }
  assert.doesNotMatch(daemon.log(), /"level":50/, "no errors logged");
});
