import assert from "node:assert/strict";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { readCgroupMounts } from "../../cgroup/mounts.js";
import type { CgroupMounts } from "../../cgroup/types.js";
import { type ErrorCode, UsageError } from "../../common/errors.js";
import {
  type CallerIdentity,
  createViewRenderer,
  SETTLE_MS,
  type ViewRendererOptions,
  viewPathsOfCpu,
} from "../../shim/render.js";
import {
  ID_C,
  PATH_A,
  PATH_B,
  PATH_C,
  PATH_D,
  V1_ROOT,
  V2_ROOT,
  v1Mounts,
  v2Mounts,
} from "../cgroup/fixtures.js";
import { fixturePath } from "../helpers/paths.js";
import { meminfoField } from "./views-helpers.js";

/** The host's own files (12 CPUs, 2 GiB of swap) the views fall back to and pass through. */
const HOST = fixturePath("shim", "host");

function renderer(root: string, mounts: CgroupMounts, extra: Partial<ViewRendererOptions> = {}) {
  return createViewRenderer({
    procRoot: join(root, "proc"),
    hostProcRoot: join(HOST, "proc"),
    sysRoot: join(root, "sys"),
    mounts,
    ...extra,
  });
}

function view(r: ReturnType<typeof renderer>, v: string, path: string): string {
  return r.renderForCgroup(v, path);
}

const processors = (text: string): number => (text.match(/^processor\t: \d+$/gm) ?? []).length;

test("v1 fixture, limits only on the pod (ancestor): memory, swap, cpuset 0-3,8,10-11 and quota 0.5", () => {
  const r = renderer(V1_ROOT, v1Mounts());
  const mem = view(r, "proc/meminfo", PATH_A);
  assert.equal(meminfoField(mem, "MemTotal"), 256 * 1024, "the pod's 256 MiB limit applies to its container");
  assert.equal(meminfoField(mem, "MemFree"), 256 * 1024 - 100 * 1024);
  assert.equal(meminfoField(mem, "MemAvailable"), 156 * 1024 + 16 * 1024 + 24 * 1024);
  assert.equal(meminfoField(mem, "SwapTotal"), 256 * 1024, "memsw 512 MiB − mem 256 MiB on the pod");
  assert.equal(meminfoField(mem, "SwapFree"), 256 * 1024 - 10 * 1024);
  assert.equal(meminfoField(mem, "Committed_AS"), 170688, "fields a cgroup cannot tell are the host's");
  assert.match(view(r, "proc/swaps", PATH_A), /^none {36}virtual\t262144\t\t10240\t\t-1$/m);
  // quota 0.5 CPU on the pod → 1 CPU; without the quota the 7 CPUs of the cpuset, renumbered
  assert.equal(processors(view(r, "proc/cpuinfo", PATH_A)), 1);
  assert.equal(view(r, "sys/devices/system/cpu/online", PATH_A), "0\n");
  const noQuota = renderer(V1_ROOT, v1Mounts(), { cfsQuota: false });
  const cpuinfo = view(noQuota, "proc/cpuinfo", PATH_A);
  assert.equal(processors(cpuinfo), 7);
  assert.match(
    cpuinfo,
    /^processor\t: 6\n(.*\n){5}core id\t\t: 11$/m,
    "host CPU 11 is the container's CPU 6",
  );
  assert.equal(view(noQuota, "sys/devices/system/cpu/online", PATH_A), "0-6\n");
  // the rest of the CPU directory says the same 7 CPUs, renumbered, whatever the host's count
  assert.equal(view(noQuota, "sys/devices/system/cpu/possible", PATH_A), "0-6\n");
  assert.equal(view(noQuota, "sys/devices/system/cpu/present", PATH_A), "0-6\n");
  assert.equal(view(noQuota, "sys/devices/system/cpu/cpu6/online", PATH_A), "1\n");
  assert.equal(view(noQuota, "sys/devices/system/cpu/cpu6/topology/core_id", PATH_A), "6\n");
  assert.equal(view(noQuota, "sys/devices/system/cpu/cpu6/topology/thread_siblings", PATH_A), "40\n");
  assert.equal(view(noQuota, "sys/devices/system/cpu/cpu6/topology/core_siblings_list", PATH_A), "0-6\n");
  assert.equal(view(r, "sys/devices/system/cpu/present", PATH_A), "0\n");
  assert.equal(view(r, "sys/devices/system/cpu/cpu0/topology/package_cpus", PATH_A), "1\n");
  // stat without the quota: per-CPU numbers from cpuacct.usage_all (ns → ticks), renumbered
  const stat = view(noQuota, "proc/stat", PATH_A).split("\n");
  assert.equal(stat.filter((l) => /^cpu\d+ /.test(l)).length, 7);
  assert.match(stat[1] as string, /^cpu0 100 0 50 \d+ 0 0 0 0 0 0$/);
  assert.match(stat[2] as string, /^cpu1 150 0 70 \d+ 0 0 0 0 0 0$/);
  // with the quota, the time spent on now-hidden CPUs is spread over the visible one, not lost
  assert.match(view(r, "proc/stat", PATH_A), /^cpu {2}250 0 120 \d+ 0 0 0 0 0 0\ncpu0 250 0 120 /);
});

test("v1 fixture: quota 1.5 on a cpuset inherited from the parent, unlimited swap accounting off", () => {
  const r = renderer(V1_ROOT, v1Mounts());
  assert.equal(processors(view(r, "proc/cpuinfo", PATH_B)), 2, "ceil(1.5) of the parent's 2-5");
  assert.match(view(r, "proc/cpuinfo", PATH_B), /^core id\t\t: 2$/m, "the first CPUs of the cpuset: 2 and 3");
  const mem = view(r, "proc/meminfo", PATH_B);
  assert.equal(meminfoField(mem, "MemTotal"), 512 * 1024);
  assert.equal(meminfoField(mem, "SwapTotal"), 2097152, "no memsw files: the host's swap lines");
  assert.equal(
    view(r, "proc/swaps", PATH_B),
    readFileSync(join(HOST, "proc/swaps"), "utf8"),
    "swap unknown: the host's /proc/swaps",
  );
});

test("v2 fixture: memory.max/swap.max on the pod slice, cpu.max 1.5, io.stat, pressure", () => {
  const r = renderer(V2_ROOT, v2Mounts());
  const mem = view(r, "proc/meminfo", PATH_C);
  assert.equal(meminfoField(mem, "MemTotal"), 256 * 1024);
  assert.equal(meminfoField(mem, "MemFree"), 256 * 1024 - 150 * 1024);
  assert.equal(meminfoField(mem, "Slab"), 4096);
  assert.equal(meminfoField(mem, "SReclaimable"), 3072);
  assert.equal(meminfoField(mem, "SwapTotal"), 128 * 1024, "memory.swap.max of the pod");
  assert.equal(meminfoField(mem, "SwapFree"), 127 * 1024);
  assert.equal(processors(view(r, "proc/cpuinfo", PATH_C)), 2);
  assert.equal(view(r, "sys/devices/system/cpu/online", PATH_C), "0-1\n");
  // LXCFS serves the host's stat and diskstats on v2; boxscope spreads cpu.stat over the visible CPUs
  const stat = view(r, "proc/stat", PATH_C);
  assert.match(stat, /^cpu {2}180 0 70 \d+ 0 0 0 0 0 0\ncpu0 90 0 35 \d+ .*\ncpu1 90 0 35 \d+ .*\nintr /);
  const [up, idle] = view(r, "proc/uptime", PATH_C).trim().split(" ").map(Number);
  assert.equal(up, 5000, "no readable process: the host's uptime");
  assert.equal(idle, 2 * 5000 - 2.5, "idle over the 2 visible CPUs minus 2.5 s of CPU");
  assert.equal(
    view(r, "proc/diskstats", PATH_C),
    "   8       0 sda 64 0 2048 0 256 0 8192 0 0 0 0 0 0 0 0 0 0\n" +
      " 253       0 dm-0 1 0 8 0 0 0 0 0 0 0 0 2 0 16 0 0 0\n",
  );
  assert.match(
    view(r, "proc/pressure/cpu", PATH_C),
    /^some avg10=2\.00 avg60=1\.00 avg300=0\.50 total=777\n/,
  );
});

test("v2 fixture: unlimited memory keeps the host's MemTotal; missing files fall back to the host", () => {
  const r = renderer(V2_ROOT, v2Mounts());
  const mem = view(r, "proc/meminfo", PATH_D);
  assert.equal(meminfoField(mem, "MemTotal"), 24684092);
  assert.equal(meminfoField(mem, "MemFree"), 24684092 - 50 * 1024);
  // no io.stat and no pressure files in this container: the host's files, byte for byte
  assert.equal(view(r, "proc/diskstats", PATH_D), readFileSync(join(HOST, "proc/diskstats"), "utf8"));
  assert.equal(view(r, "proc/pressure/io", PATH_D), readFileSync(join(HOST, "proc/pressure/io"), "utf8"));
  assert.equal(processors(view(r, "proc/cpuinfo", PATH_D)), 12);
});

test("the root cgroup and unknown input: host files verbatim, errors naming what was wrong", () => {
  const r = renderer(V2_ROOT, v2Mounts());
  for (const v of viewPathsOfCpu(0)) {
    const hostFile = v.startsWith("sys/") ? join(V2_ROOT, v) : join(HOST, v);
    // (the fixture has only cpu/online of the CPU directory: the others are empty, as absent)
    assert.equal(view(r, v, "/"), existsSync(hostFile) ? readFileSync(hostFile, "utf8") : "", v);
  }
  const refused = (code: ErrorCode, message: RegExp) => (e: unknown) =>
    e instanceof UsageError && e.code === code && message.test(e.message);
  assert.throws(
    () => r.renderForCgroup("proc/vmstat", PATH_C),
    refused("BXS_VIEW_UNKNOWN", /^unknown view "proc\/vmstat"/),
  );
  assert.throws(
    () => r.renderForCgroup("proc/meminfo", "/no/such/cgroup"),
    refused("BXS_CGROUP_NOT_FOUND", /^no such cgroup: \/no\/such\/cgroup$/),
  );
  assert.throws(
    () => r.renderForPid("proc/meminfo", 424242),
    refused("BXS_PROCESS_NOT_FOUND", /^no such process: pid 424242$/),
  );
  assert.throws(() => r.renderForPid("proc/meminfo", -1), refused("BXS_PID_INVALID", /^invalid pid -1$/));
});

/** A writable copy of the v2 fixture tree, for tests that change files between reads. */
function mutableV2(t: { after(fn: () => void): void }): { root: string; mounts: CgroupMounts } {
  const root = mkdtempSync(join(tmpdir(), "boxscope-test-views-fixture-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  cpSync(V2_ROOT, root, { recursive: true });
  return { root, mounts: readCgroupMounts(join(root, "proc"), { pathPrefix: root }) };
}
const procStat = (pid: number, startTicks: number): string =>
  `${pid} (app) S 1 ${pid} ${pid} 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 ${startTicks} 1000000 100 0\n`;

test("a reused pid is re-resolved: the start time changed, so the old container's numbers are not served", (t) => {
  const { root, mounts } = mutableV2(t);
  const pid = 4000;
  writeFileSync(join(root, "proc", String(pid), "stat"), procStat(pid, 1000));
  const r = renderer(root, mounts, { shareWindowMs: 0 });
  const first = r.renderForPid("proc/meminfo", pid);
  assert.equal(
    meminfoField(first, "MemTotal"),
    256 * 1024,
    `pid ${pid} is in container ${ID_C.slice(0, 12)}`,
  );
  assert.equal(r.cgroupForPid(pid), PATH_C);
  // the process exits and a new one in another container gets the same pid
  writeFileSync(join(root, "proc", String(pid), "stat"), procStat(pid, 2000));
  writeFileSync(join(root, "proc", String(pid), "cgroup"), `0::${PATH_D}\n`);
  const second = r.renderForPid("proc/meminfo", pid);
  assert.equal(meminfoField(second, "MemTotal"), 24684092);
  assert.equal(r.cgroupForPid(pid), PATH_D);
});

/** Makes <root>/proc/<pid> a process in pid namespace `ns`, with NSpid `nspid`, started at `ticks`. */
function fakeProcess(root: string, pid: number, ns: string, nspid: string, ticks: number): void {
  const dir = join(root, "proc", String(pid));
  mkdirSync(join(dir, "ns"), { recursive: true });
  rmSync(join(dir, "ns/pid"), { force: true });
  symlinkSync(ns, join(dir, "ns/pid"));
  writeFileSync(join(dir, "stat"), procStat(pid, ticks));
  writeFileSync(join(dir, "status"), `PPid:\t1\nNSpid:\t${nspid}\n`);
}

test("a view is rendered for the identity the mount resolved, never for whoever has the pid now", (t) => {
  const { root, mounts } = mutableV2(t);
  const r = renderer(root, mounts, { shareWindowMs: 0 });
  const memTotal = (caller: CallerIdentity): number => {
    return meminfoField(r.renderForCaller("proc/meminfo", caller).text, "MemTotal") ?? -1;
  };
  const HOST_NS = "pid:[4026531836]";
  fakeProcess(root, 1, HOST_NS, "1", 1);
  // pid 4000 is now a container's init (its own namespace) in container D (no memory limit)
  fakeProcess(root, 4000, "pid:[4026532888]", "4000\t1", 5000);
  writeFileSync(join(root, "proc/4000/cgroup"), `0::${PATH_D}\n`);
  const hostMemTotal = 24684092;
  assert.equal(
    memTotal({ pid: 4000, pidNamespace: "pid:[4026532888]", procCgroup: `0::${PATH_D}\n` }),
    hostMemTotal,
  );
  // a host-namespace reader that had pid 4000 in container C (256 MiB): C, whatever /proc says now
  assert.equal(memTotal({ pid: 4000, pidNamespace: HOST_NS, procCgroup: `0::${PATH_C}\n` }), 256 * 1024);
  // a reader in another container namespace that had pid 4000: no init of its namespace is found
  // through a pid that is now in another namespace, so its own cgroup (C) decides, not D's init
  assert.equal(
    memTotal({ pid: 4000, pidNamespace: "pid:[4026532777]", procCgroup: `0::${PATH_C}\n` }),
    256 * 1024,
  );
  // the namespace's init, remembered, is replaced by a process of another namespace with its pid
  // and start time: its cgroup is not taken for the first namespace's
  fakeProcess(root, 4000, "pid:[4026532999]", "4000\t1", 5000);
  assert.equal(
    memTotal({ pid: 4000, pidNamespace: "pid:[4026532888]", procCgroup: `0::${PATH_C}\n` }),
    256 * 1024,
  );
});

test("a new container settles first (nothing kept); then reads within the share window share one reading", (t) => {
  const { root, mounts } = mutableV2(t);
  let clock = 0;
  const r = renderer(root, mounts, { shareWindowMs: 100, now: () => clock });
  // A host-namespace reader in container C: its own cgroup decides.
  const caller: CallerIdentity = { pid: 4000, pidNamespace: undefined, procCgroup: `0::${PATH_C}\n` };
  const read = (): { memFree: number | undefined; shareable: boolean } => {
    const served = r.renderForCaller("proc/meminfo", caller);
    return { memFree: meminfoField(served.text, "MemFree"), shareable: served.shareable };
  };
  const current = join(root, "sys/fs/cgroup", PATH_C, "memory.current");
  const first = read();
  assert.equal(first.shareable, false, "first moments: the mount must not cache it");
  // The runtime writes after the first read (runc sets limits after its mounts): seen at once.
  writeFileSync(current, String(200 * 1024 * 1024));
  clock = 50;
  assert.deepEqual(read(), { memFree: 56 * 1024, shareable: false }, "settling: every read renders afresh");

  clock = SETTLE_MS;
  const settled = read();
  assert.equal(settled.shareable, true, "settled: shareable");
  writeFileSync(current, String(100 * 1024 * 1024));
  clock = SETTLE_MS + 50;
  assert.equal(read().memFree, settled.memFree, "within 100 ms: same reading");
  clock = SETTLE_MS + 150;
  assert.equal(read().memFree, 156 * 1024, "after the window: re-read");
});

test("stat served through the renderer never goes backwards when cpu.stat does", (t) => {
  const { root, mounts } = mutableV2(t);
  let clock = 0;
  const r = renderer(root, mounts, { shareWindowMs: 0, now: () => clock });
  const user = (): number => Number(view(r, "proc/stat", PATH_C).split("\n")[0]?.split(/\s+/)[1]);
  assert.equal(user(), 180);
  const cpuStat = join(root, "sys/fs/cgroup", PATH_C, "cpu.stat");
  writeFileSync(cpuStat, readFileSync(cpuStat, "utf8").replace("user_usec 1800000", "user_usec 900000"));
  clock = 1000;
  assert.equal(user(), 180, "a reading that went backwards is held at the last value served");
  writeFileSync(cpuStat, readFileSync(cpuStat, "utf8").replace("user_usec 900000", "user_usec 2400000"));
  clock = 2000;
  assert.equal(user(), 240);
});
