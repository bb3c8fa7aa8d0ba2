import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { viewPathsOfCpu } from "../../shim/render.js";
import { hasCommand, isRoot, requirePrereq } from "../helpers/prereq.js";
import { type DaemonUnderTest, hasDevFuse, mountedFsType, startDaemon } from "./fuse-daemon.js";
import {
  createLiveCgroup,
  LIVE_CONTROLLERS,
  liveCgroupsAvailable,
  rootProcsFiles,
  runInside,
} from "./live-cgroup.js";

/** Runs `sh -c script` moved into the root cgroup of every hierarchy: a host process. */
function runAsHostProcess(script: string): string {
  const joinRoot = rootProcsFiles()
    .map((f) => `echo $$ > ${f} 2>/dev/null`)
    .join("; ");
  return execFileSync("sh", ["-c", `${joinRoot}; ${script}`], { encoding: "utf8", maxBuffer: 16 << 20 });
}

/** Everything the child prints on stdout (and stderr with `withStderr`) until it exits. */
function outputOf(child: ChildProcess, withStderr = false): Promise<string> {
  return new Promise((resolve) => {
    let out = "";
    const collect = (d: Buffer) => {
      out += d.toString();
    };
    child.stdout?.on("data", collect);
    if (withStderr) child.stderr?.on("data", collect);
    child.once("exit", () => resolve(out));
  });
}

/** The CPU numbers of a cpulist (`0-3,8`). */
function cpusOfList(list: string): number[] {
  return list
    .trim()
    .split(",")
    .flatMap((r) => {
      const [lo, hi] = r.split("-").map(Number);
      return Array.from({ length: (hi ?? lo ?? 0) - (lo ?? 0) + 1 }, (_, i) => (lo ?? 0) + i);
    });
}

const field = (text: string, key: string): string | undefined =>
  text.split("\n").find((l) => l.startsWith(`${key}:`));

test("shim mount: LXCFS layout, host values for host readers, survives abuse, unmounts on SIGTERM", {
  timeout: 180_000,
}, async (t) => {
  if (!requirePrereq(t, isRoot() && hasDevFuse(), "needs root and /dev/fuse")) return;
  if (!requirePrereq(t, liveCgroupsAvailable(), "needs the live cgroup controllers (v1, or v2)")) return;
  const dir = mkdtempSync(join(tmpdir(), "boxscope-fuse-mount-"));
  const mnt = join(dir, "mnt");
  let daemon: DaemonUnderTest | undefined;
  t.after(async () => {
    await daemon?.stop("SIGKILL");
    spawnSync("umount", ["-l", mnt]);
    rmSync(dir, { recursive: true, force: true });
  });
  daemon = await startDaemon(mnt);
  assert.equal(mountedFsType(mnt), "fuse.boxscope");

  await t.test("readdir shows LXCFS's layout", () => {
    assert.deepEqual(readdirSync(mnt).sort(), ["proc", "sys"]);
    assert.deepEqual(readdirSync(join(mnt, "proc")).sort(), [
      "cpuinfo",
      "diskstats",
      "loadavg",
      "meminfo",
      "pressure",
      "stat",
      "swaps",
      "uptime",
    ]);
    assert.deepEqual(readdirSync(join(mnt, "proc/pressure")).sort(), ["cpu", "io", "memory"]);
    // A host reader's CPU directories are the host's online CPUs.
    const hostCpus = cpusOfList(readFileSync("/sys/devices/system/cpu/online", "utf8")).map((n) => `cpu${n}`);
    assert.deepEqual(readdirSync(join(mnt, "sys/devices/system/cpu")).sort(), [
      ...hostCpus.sort(),
      "kernel_max",
      "online",
      "possible",
      "present",
    ]);
    assert.deepEqual(readdirSync(join(mnt, "sys/devices/system/cpu/cpu0")).sort(), ["online", "topology"]);
    assert.ok(
      readdirSync(join(mnt, "sys/devices/system/cpu/cpu0/topology")).includes("thread_siblings_list"),
    );
    const ls = execFileSync("ls", ["-l", join(mnt, "proc")], { encoding: "utf8" });
    assert.match(ls, /-r--r--r-- 1 root root +[1-9]\d* .* meminfo/, "size = the caller's rendering");
    // busybox cat uses sendfile, which stops at the file size: it must get the whole view.
    const viaSendfile = execFileSync("busybox", ["cat", join(mnt, "proc/meminfo")], { encoding: "utf8" });
    assert.match(viaSendfile, /^MemTotal:.*\n[\s\S]*SwapFree:/);
  });

  await t.test("every view, read by a host process, says the host's numbers", () => {
    const sep = "\n@@@@\n";
    const paths = viewPathsOfCpu(0);
    const out = runAsHostProcess(
      paths
        .map((v) => `cat ${join(mnt, v)}; echo '${sep.trim()}'; cat /${v} 2>/dev/null; echo '${sep.trim()}'`)
        .join("; "),
    ).split(`${sep.trim()}\n`);
    const views = new Map(paths.map((v, i) => [v, { mount: out[2 * i] ?? "", host: out[2 * i + 1] ?? "" }]));
    // The host's own files (x86 has no cpu0/online: empty, as the host has none)
    for (const [v, { mount, host }] of views) {
      if (v.startsWith("sys/")) assert.equal(mount, host, v);
      else assert.ok(mount.length > 0, `${v} is empty`);
    }
    const meminfo = views.get("proc/meminfo");
    assert.equal(field(meminfo?.mount ?? "", "MemTotal"), field(meminfo?.host ?? "", "MemTotal"));
    assert.equal(field(meminfo?.mount ?? "", "SwapTotal"), field(meminfo?.host ?? "", "SwapTotal"));
    const processors = (s: string) => s.split("\n").filter((l) => l.startsWith("processor"));
    const cpuinfo = views.get("proc/cpuinfo");
    assert.deepEqual(processors(cpuinfo?.mount ?? ""), processors(cpuinfo?.host ?? ""));
    const online = views.get("sys/devices/system/cpu/online");
    assert.equal(online?.mount, online?.host);
    const swaps = views.get("proc/swaps");
    assert.equal(swaps?.mount, swaps?.host);
    const statKeys = (s: string) => s.split("\n").map((l) => l.split(" ")[0]);
    const stat = views.get("proc/stat");
    assert.deepEqual(statKeys(stat?.mount ?? ""), statKeys(stat?.host ?? ""));
    const uptime = views.get("proc/uptime");
    const up = (s: string) => Number(s.split(" ")[0]);
    assert.ok(Math.abs(up(uptime?.mount ?? "") - up(uptime?.host ?? "")) < 5, "uptime is the host's");
    const devices = (s: string) =>
      s
        .trim()
        .split("\n")
        .map((l) => l.trim().split(/\s+/)[2]);
    const disk = views.get("proc/diskstats");
    assert.deepEqual(devices(disk?.mount ?? ""), devices(disk?.host ?? ""));
    assert.match(views.get("proc/loadavg")?.mount ?? "", /^\d+\.\d\d \d+\.\d\d \d+\.\d\d \d+\/\d+ \d+\n$/);
    assert.match(views.get("proc/pressure/cpu")?.mount ?? "", /^some avg10=\d+\.\d\d /);
  });

  await t.test("read-only: writing fails with EROFS, unknown names with ENOENT", () => {
    assert.throws(() => writeFileSync(join(mnt, "proc/meminfo"), "x"), { code: "EROFS" });
    assert.throws(() => readFileSync(join(mnt, "proc/nope")), { code: "ENOENT" });
  });

  const cg = createLiveCgroup("fuse");
  t.after(() => cg.destroy());
  // 2 GiB: room for 1,000 concurrent shells and greps (at 256 MiB the memcg OOM killer took some).
  cg.setMemoryLimit(2048 * 1024 * 1024);

  await t.test("a reader inside a cgroup sees its limit; 1,000 concurrent readers all get it", async () => {
    const script = `for i in $(seq 1000); do (grep MemTotal ${mnt}/proc/meminfo 2>&1 || echo FAIL) & done; wait`;
    const res = await outputOf(cg.spawnInside(script));
    const lines = res.trim().split("\n");
    const distinct = [...new Set(lines.map((l) => l.replace(/\s+/g, " ")))];
    assert.deepEqual(distinct, ["MemTotal: 2097152 kB"], `daemon log: ${daemon?.log()}`);
    assert.equal(lines.length, 1000);
  });

  await t.test("the CPU directory is the reader's: a 1-CPU cgroup and the host, in turn", async (st) => {
    const hostCpus = cpusOfList(readFileSync("/sys/devices/system/cpu/online", "utf8"));
    if (!requirePrereq(st, hostCpus.length >= 2, "needs a host with at least 2 CPUs")) return;
    const one = createLiveCgroup("fuse-cpus");
    st.after(() => one.destroy());
    one.setCpuset(String(hostCpus.at(-1)));
    const cpuDir = join(mnt, "sys/devices/system/cpu");
    const inside = `cd ${cpuDir} && ls; echo @@; cat online possible present cpu0/online cpu0/topology/core_siblings_list; test -d cpu1 && echo has-cpu1 || echo no-cpu1`;
    for (let round = 0; round < 3; round++) {
      // The host's lookup of cpu1 comes first: the kernel must not answer the cgroup's from it.
      assert.ok(existsSync(join(cpuDir, "cpu1")), "the host sees cpu1");
      const r = await runInside(one, inside);
      assert.equal(r.code, 0, r.stderr);
      const [ls, rest] = r.stdout.split("@@\n");
      assert.deepEqual(ls?.trim().split("\n"), ["cpu0", "kernel_max", "online", "possible", "present"]);
      assert.equal(rest, "0\n0\n0\n1\n0\nno-cpu1\n");
      assert.ok(readdirSync(cpuDir).includes(`cpu${hostCpus.at(-1)}`), "the host lists its CPUs");
    }
    assert.throws(() => readdirSync(join(cpuDir, "cpu99999")), { code: "ENOENT" });
    assert.throws(() => readdirSync(join(cpuDir, "cpu01")), { code: "ENOENT" });
  });

  await t.test(
    "busybox cat (sendfile) in two cgroups at once: each always gets its own bytes",
    async (st) => {
      if (!requirePrereq(st, hasCommand("busybox"), "needs busybox (Debian busybox-static)")) return;
      const other = createLiveCgroup("fuse-other");
      st.after(() => other.destroy());
      other.setMemoryLimit(1024 * 1024 * 1024);
      // Without the daemon refusing page-cache reads, the kernel served one cgroup's pages to the
      // other here (docs/shim.md, "No page cache"): 16 and 14 of 300 showed the other's MemTotal.
      const catLoop = (c: typeof cg) =>
        outputOf(
          c.spawnInside(
            `for i in $(seq 300); do busybox cat ${mnt}/proc/meminfo | grep MemTotal || echo FAIL; done`,
          ),
        );
      const [mine, theirs] = await Promise.all([catLoop(cg), catLoop(other)]);
      const tally = (s: string) => {
        const counts: Record<string, number> = {};
        for (const line of s.trim().split("\n")) {
          const k = line.replace(/\s+/g, " ");
          counts[k] = (counts[k] ?? 0) + 1;
        }
        return counts;
      };
      assert.deepEqual(tally(mine), { "MemTotal: 2097152 kB": 300 });
      assert.deepEqual(tally(theirs), { "MemTotal: 1048576 kB": 300 });
    },
  );

  await t.test("callers killed mid-read and a vanished cgroup do not hurt the daemon", async () => {
    spawnSync("sh", [
      "-c",
      `for i in $(seq 300); do cat ${mnt}/proc/stat ${mnt}/proc/meminfo >/dev/null 2>&1 & done; kill -9 $(jobs -p) 2>/dev/null; wait`,
    ]);
    // The reader leaves its cgroup, which is then removed: the daemon's cached answer for that pid
    // now names a cgroup that is gone.
    const gone = createLiveCgroup("fuse-gone");
    t.after(() => gone.destroy());
    const leave =
      gone.version === 1
        ? LIVE_CONTROLLERS.map(
            (c) => `echo $$ > /sys/fs/cgroup/${c}/cgroup.procs && rmdir ${gone.dir(c)}`,
          ).join(" && ")
        : `echo $$ > /sys/fs/cgroup/cgroup.procs && rmdir ${gone.dir("memory")}`;
    const out = await outputOf(
      gone.spawnInside(
        `cat ${mnt}/proc/meminfo >/dev/null && ${leave} && for v in ${viewPathsOfCpu(0).join(" ")}; do cat ${mnt}/$v >/dev/null || echo FAIL $v; done; echo DONE`,
      ),
      true,
    );
    assert.equal(out.trim(), "DONE");
    assert.equal(daemon?.child.exitCode, null, "daemon still running");
    assert.match(readFileSync(join(mnt, "proc/meminfo"), "utf8"), /^MemTotal:/);
  });

  await t.test("SIGTERM unmounts and exits 0", async () => {
    const ended = await daemon?.stop("SIGTERM");
    assert.deepEqual(ended, { code: 0, signal: null });
    assert.equal(mountedFsType(mnt), undefined);
    assert.match(daemon?.log() ?? "", /"msg":"unmounted"/);
  });
});
