import assert from "node:assert/strict";
import { test } from "node:test";
import { isRoot, requirePrereq } from "../helpers/prereq.js";
import { type RuncContainer, runcAvailable } from "../helpers/runc.js";
import { hasDevFuse } from "./fuse-daemon.js";
import { startRuncLabWithMount } from "./runc-mount.js";

// busybox sh runs its own applets (free, top, uptime) before PATH: name the procps/sysstat binaries.
const TOOLS =
  "/usr/bin/free -m; echo @@; /usr/bin/top -bn1 | head -12; /usr/bin/getconf _NPROCESSORS_ONLN; echo @@; /usr/bin/uptime; echo @@; /usr/bin/vmstat 1 2; echo @@; cat /proc/stat; echo @@; /usr/bin/iostat -c; echo @@; cat /proc/cpuinfo; echo @@; cat /proc/uptime";

interface ToolOutput {
  free: string;
  top: string;
  uptime: string;
  vmstat: string;
  stat: string;
  iostat: string;
  cpuinfo: string;
  procUptime: string;
}

async function runTools(c: RuncContainer): Promise<ToolOutput> {
  const r = await c.exec(TOOLS);
  assert.equal(r.code, 0, `tools in ${c.name} failed: ${r.stderr}`);
  const parts = r.stdout.split("@@\n");
  assert.equal(parts.length, 8, `tool output in ${c.name}: ${r.stdout}`);
  const [free, top, uptime, vmstat, stat, iostat, cpuinfo, procUptime] = parts;
  return {
    free: free ?? "",
    top: top ?? "",
    uptime: uptime ?? "",
    vmstat: vmstat ?? "",
    stat: stat ?? "",
    iostat: iostat ?? "",
    cpuinfo: cpuinfo ?? "",
    procUptime: procUptime ?? "",
  };
}

function loadAverages(uptimeLine: string): number[] {
  const m = /load average: ([\d.]+), ([\d.]+), ([\d.]+)/.exec(uptimeLine);
  assert.ok(m, `no load average in ${uptimeLine}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** iostat's first avg-cpu %idle is idle / total of /proc/stat's cpu line (since the container began). */
function statIdlePercent(stat: string): number {
  const cpu = stat.split("\n").find((l) => l.startsWith("cpu "));
  assert.ok(cpu);
  const v = cpu.trim().split(/\s+/).slice(1).map(Number);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return (100 * (v[3] ?? 0)) / total;
}

function checkContainer(out: ToolOutput, mib: number, cpus: number, name: string, busy = false): void {
  const mem = out.free.split("\n").find((l) => l.startsWith("Mem:"));
  assert.equal(mem?.trim().split(/\s+/)[1], String(mib), `free -m total in ${name}: ${out.free}`);
  assert.match(out.top, new RegExp(`MiB Mem :\\s+${mib}\\.0 total`), `top in ${name}`);
  // glibc's online-CPU count (what top, nproc-like code and thread pools size themselves by)
  assert.equal(out.top.trim().split("\n").at(-1), String(cpus), `_NPROCESSORS_ONLN in ${name}`);
  assert.match(out.uptime, /up [01] min/, `uptime in ${name} is the container's: ${out.uptime}`);
  const vmLast = out.vmstat.trim().split("\n").at(-1)?.trim().split(/\s+/) ?? [];
  assert.ok(Number(vmLast[3]) <= mib * 1024, `vmstat free ≤ limit in ${name}: ${out.vmstat}`);
  const cpuFields = vmLast.slice(12, 17).map(Number);
  assert.ok(
    Math.abs(cpuFields.reduce((a, b) => a + b, 0) - 100) <= 2,
    `vmstat cpu columns sum to 100: ${vmLast}`,
  );
  // vmstat keeps /proc/stat open and reads it again from the start for its second line: that read
  // must be served afresh, or the second line is the first's numbers again (0 us, 0 sy, 100 id).
  // Any busy time tells the two apart: on a loaded host the loops get only a small share.
  if (busy) {
    const [us = 0, sy = 0] = cpuFields;
    assert.ok(us + sy >= 1, `vmstat's second line in ${name} shows its busy loops: ${out.vmstat}`);
  }
  assert.equal(out.cpuinfo.split("\n").filter((l) => l.startsWith("processor")).length, cpus, out.cpuinfo);
  assert.equal(out.stat.split("\n").filter((l) => /^cpu\d+ /.test(l)).length, cpus);
  assert.ok(Number(out.procUptime.split(" ")[0]) < 120, `container uptime: ${out.procUptime}`);
  const idle = out.iostat.split("\n").find((l) => /^\s+[\d.]+\s+[\d.]+\s+[\d.]+/.test(l));
  assert.ok(idle, `iostat avg-cpu in ${name}: ${out.iostat}`);
  const iostatIdle = Number(idle.trim().split(/\s+/)[5]);
  assert.ok(
    Math.abs(iostatIdle - statIdlePercent(out.stat)) < 3,
    `iostat %idle ${iostatIdle} comes from the container's /proc/stat (${statIdlePercent(out.stat)})`,
  );
}

test("runc containers see their own memory, CPUs, uptime and load through the mount", {
  timeout: 240_000,
}, async (t) => {
  if (!requirePrereq(t, isRoot() && hasDevFuse(), "needs root and /dev/fuse")) return;
  if (!requirePrereq(t, runcAvailable(), "needs runc, busybox-static, procps and sysstat")) return;
  const { lab, daemon, binds } = await startRuncLabWithMount(t, "fuse");
  const [small, big] = await Promise.all([
    lab.start({ name: "small", memoryBytes: 256 << 20, cpus: "0", quotaCpus: 1, binds }),
    lab.start({ name: "big", memoryBytes: 512 << 20, cpus: "0-1", quotaCpus: 2, binds }),
  ]);
  // The first loadavg read makes the sampler follow each container; `big` keeps two CPUs busy.
  assert.equal((await small.exec("cat /proc/loadavg")).code, 0);
  const burn = "(while :; do :; done) >/dev/null 2>&1 &";
  assert.equal((await big.exec(`cat /proc/loadavg; ${burn} ${burn}`)).code, 0);
  await new Promise((r) => setTimeout(r, 21_000)); // four 5 s load samples
  // Loads read first, each with one short exec: every exec (runc's own setup included) runs inside
  // the container and can be counted by a sample, and under software emulation a sample lands in
  // the tools' run below. The idle one's load is that noise at most; the busy one's is two loops'.
  const load1 = async (c: RuncContainer): Promise<number> => {
    const r = await c.exec("cat /proc/loadavg");
    assert.equal(r.code, 0, r.stderr);
    return Number(r.stdout.split(" ")[0]);
  };
  const [aLoad, bLoad] = await Promise.all([load1(small), load1(big)]);
  assert.ok(aLoad <= 0.25, `idle container's own 1-min load: ${aLoad}`);
  assert.ok(bLoad >= 0.3, `busy container's own 1-min load (two busy loops): ${bLoad}`);

  const [a, b] = await Promise.all([runTools(small), runTools(big)]);
  checkContainer(a, 256, 1, "small");
  checkContainer(b, 512, 2, "big", true);
  // uptime prints the same view's loads.
  assert.ok(loadAverages(a.uptime)[0] !== undefined && loadAverages(b.uptime)[0] !== undefined);
  assert.doesNotMatch(daemon.log(), /"level":50/, "no errors logged");
});
