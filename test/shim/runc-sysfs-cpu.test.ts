import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { isRoot, requirePrereq } from "../helpers/prereq.js";
import { type RuncContainer, runcAvailable } from "../helpers/runc.js";
import { hasDevFuse } from "./fuse-daemon.js";
import { startRuncLabWithMount } from "./runc-mount.js";

// Named by path: busybox sh runs its own applets (nproc) before PATH.
const CPU_TOOLS = [
  "ls /sys/devices/system/cpu",
  "/usr/bin/lscpu",
  "/usr/bin/nproc --all; /usr/bin/getconf _NPROCESSORS_CONF; /usr/bin/getconf _NPROCESSORS_ONLN",
  "/usr/bin/iostat -c",
  "/usr/bin/mpstat -P ALL",
  "cat /sys/devices/system/cpu/online /sys/devices/system/cpu/possible /sys/devices/system/cpu/present",
].join("; echo @@; ");

interface CpuToolOutput {
  ls: string[];
  lscpu: string;
  counts: string[];
  iostat: string;
  mpstat: string;
  lists: string[];
}

async function cpuTools(c: RuncContainer): Promise<CpuToolOutput> {
  const r = await c.exec(CPU_TOOLS);
  assert.equal(r.code, 0, `CPU tools in ${c.name} failed: ${r.stderr}`);
  const [ls, lscpu, counts, iostat, mpstat, lists] = r.stdout.split("@@\n");
  assert.ok(lists !== undefined, `tool output in ${c.name}: ${r.stdout}`);
  const lines = (s: string | undefined) => (s ?? "").trim().split("\n");
  return {
    ls: lines(ls),
    lscpu: lscpu ?? "",
    counts: lines(counts),
    iostat: iostat ?? "",
    mpstat: mpstat ?? "",
    lists: lines(lists),
  };
}

/**
 * What every CPU-counting tool in a container with `n` CPUs must say. `affinity`: the CPUs its
 * processes may run on (its cpuset), which coreutils' `nproc --all` reports instead when glibc says
 * 1 or 2 and the affinity mask has more (gnulib's nproc takes those for "/sys could not tell",
 * glibc bug 21542).
 */
function checkCpus(out: CpuToolOutput, n: number, name: string, affinity = n): void {
  const cpuDirs = Array.from({ length: n }, (_, i) => `cpu${i}`);
  assert.deepEqual(out.ls.sort(), [...cpuDirs, "kernel_max", "online", "possible", "present"].sort(), name);
  const range = n === 1 ? "0" : `0-${n - 1}`;
  assert.deepEqual(out.lists, [range, range, range], `online, possible, present in ${name}`);
  const field = (key: string) => new RegExp(`^${key}:\\s+(.*)$`, "m").exec(out.lscpu)?.[1];
  assert.equal(field("CPU\\(s\\)"), String(n), `lscpu in ${name}: ${out.lscpu}`);
  // (lscpu writes a pair as `0,1`)
  assert.equal(field("On-line CPU\\(s\\) list"), n === 2 ? "0,1" : range, `lscpu in ${name}`);
  assert.equal(field("Thread\\(s\\) per core"), "1", `lscpu in ${name}`);
  assert.equal(field("Core\\(s\\) per socket"), String(n), `lscpu in ${name}`);
  assert.equal(field("Socket\\(s\\)"), "1", `lscpu in ${name}`);
  // glibc's get_nprocs_conf counts the cpuN directories; get_nprocs reads online
  const nprocAll = n <= 2 ? Math.max(n, affinity) : n;
  assert.deepEqual(out.counts, [String(nprocAll), String(n), String(n)], `nproc --all, getconf in ${name}`);
  // sysstat counts the cpuN directories too
  assert.match(out.iostat, new RegExp(`\\(${n} CPU\\)`), `iostat in ${name}: ${out.iostat}`);
  assert.match(out.mpstat, new RegExp(`\\(${n} CPU\\)`), `mpstat in ${name}`);
  // rows: the time (with AM/PM in some locales), then the CPU number or "all"
  const mpstatCpus = out.mpstat
    .split("\n")
    .map((l) => /^\S+(?:\s+[AP]M)?\s+(\d+)\s/.exec(l)?.[1])
    .filter((c) => c !== undefined);
  assert.deepEqual(
    [...new Set(mpstatCpus)],
    cpuDirs.map((_, i) => String(i)),
    `mpstat -P ALL in ${name}`,
  );
}

const hostCpuCount = (): number =>
  readFileSync("/sys/devices/system/cpu/online", "utf8")
    .trim()
    .split(",")
    .reduce((sum, r) => {
      const [lo, hi] = r.split("-").map(Number);
      return sum + (hi ?? lo ?? 0) - (lo ?? 0) + 1;
    }, 0);

test("runc containers' lscpu, nproc --all, getconf, iostat and mpstat count their own CPUs through the bound CPU directory", {
  timeout: 240_000,
}, async (t) => {
  if (!requirePrereq(t, isRoot() && hasDevFuse(), "needs root and /dev/fuse")) return;
  if (!requirePrereq(t, runcAvailable(), "needs runc, busybox-static, procps and sysstat")) return;
  const tools = [
    "/usr/bin/lscpu",
    "/usr/bin/iostat",
    "/usr/bin/mpstat",
    "/usr/bin/nproc",
    "/usr/bin/getconf",
  ];
  if (
    !requirePrereq(
      t,
      tools.every((p) => existsSync(p)),
      "needs util-linux lscpu, sysstat, coreutils, libc-bin",
    )
  )
    return;
  const host = hostCpuCount();
  if (!requirePrereq(t, host >= 2, "needs a host with at least 2 CPUs (containers with fewer)")) return;
  const { lab, daemon, binds } = await startRuncLabWithMount(t, "sysfs-cpu");
  const last = host - 1;
  // One CPU by cpuset (the host's last: renumbered to 0), one by a quota of 1 CPU, and two by a
  // quota of 2 CPUs (on a 2-CPU host that is all of them; in a bigger one, fewer than the host's).
  const [pinned, quota, two] = await Promise.all([
    lab.start({ name: "pinned", cpus: String(last), binds }),
    lab.start({ name: "quota", cpus: `0-${last}`, quotaCpus: 1, binds }),
    lab.start({ name: "two", cpus: `0-${last}`, quotaCpus: 2, binds }),
  ]);
  const [a, b, c] = await Promise.all([cpuTools(pinned), cpuTools(quota), cpuTools(two)]);
  checkCpus(a, 1, "pinned");
  checkCpus(b, 1, "quota", host);
  checkCpus(c, 2, "two", host);
  for (const out of [a, b, c])
    if (host > 2) assert.doesNotMatch(out.lscpu, new RegExp(`^CPU\\(s\\):\\s+${host}$`, "m"));

  // The kernel's dentries of the directory are shared by every container's bind: looked up in turn
  // from containers with 1 and 2 CPUs, each must only ever see its own.
  const probe = `for i in $(seq 100); do ls /sys/devices/system/cpu | grep -c '^cpu[0-9]'; test -d /sys/devices/system/cpu/cpu1 && echo has-cpu1 || echo no-cpu1; cat /sys/devices/system/cpu/cpu1/online 2>/dev/null || echo no-file; done | sort | uniq -c`;
  const [pa, ta] = await Promise.all([pinned.exec(probe), two.exec(probe)]);
  assert.equal(pa.code, 0, pa.stderr);
  assert.equal(ta.code, 0, ta.stderr);
  const tally = (s: string) =>
    s
      .trim()
      .split("\n")
      .map((l) => l.trim().replace(/\s+/, " "));
  assert.deepEqual(tally(pa.stdout), ["100 1", "100 no-cpu1", "100 no-file"], "the 1-CPU container");
  assert.deepEqual(tally(ta.stdout), ["100 1", "100 2", "100 has-cpu1"], "the 2-CPU container");
  assert.doesNotMatch(daemon.log(), /"level":50/, "no errors logged");
});
