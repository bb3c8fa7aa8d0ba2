import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { test } from "node:test";
import { parseDiskstats, parseStat } from "../../cgroup/host.js";
import { createViewRenderer } from "../../shim/render.js";
import { requirePrereq } from "../helpers/prereq.js";
import {
  createLiveCgroup,
  deviceOf,
  liveCgroupsAvailable,
  runInside,
  sleep,
  waitForOutput,
} from "./live-cgroup.js";
import { meminfoField, samplerOfOneCgroup } from "./views-helpers.js";

const MiB = 1024 * 1024;

test("live cgroup (v1 on this hybrid host, or v2): every view moves the way the kernel's would", {
  timeout: 120_000,
}, async (t) => {
  if (
    !requirePrereq(
      t,
      liveCgroupsAvailable(),
      "needs root and cgroup v1 controllers or a cgroup2 root with cpuset/cpu/io/memory/pids",
    )
  )
    return;
  const cg = createLiveCgroup("views");
  const scratch = mkdtempSync("/var/tmp/boxscope-test-views-");
  t.after(async () => {
    await cg.destroy();
    rmSync(scratch, { recursive: true, force: true });
  });
  const hostCpus = parseStat(readFileSync("/proc/stat", "utf8")).perCpu.size;
  const theCpu = hostCpus > 1 ? 1 : 0;
  cg.setMemoryLimit(256 * MiB);
  cg.setCpuset(String(theCpu));
  cg.setQuota(50_000, 100_000);
  cg.setPidsMax(200);
  const dev = deviceOf(scratch);
  cg.countIoOn(dev);

  const r = createViewRenderer({ shareWindowMs: 0 });
  const view = (v: string): string => r.renderForCgroup(v, cg.path);

  const anchor = cg.spawnInside("echo ready; exec sleep 600");
  await waitForOutput(anchor, "ready");

  await t.test("cpuinfo, online: cpuset of one CPU and half a CPU of quota → 1 processor", () => {
    const cpuinfo = view("proc/cpuinfo");
    assert.equal((cpuinfo.match(/^processor\s*:/gm) ?? []).length, 1);
    assert.match(cpuinfo, /^processor\t: 0$/m);
    assert.equal(view("sys/devices/system/cpu/online"), "0\n");
  });

  await t.test("uptime: small and ≥ 0 (the cgroup's oldest process started just now)", () => {
    const [up, idle] = view("proc/uptime").trim().split(" ").map(Number);
    assert.ok(up !== undefined && up >= 0 && up < 60, `uptime ${up}`);
    assert.ok(idle !== undefined && idle >= 0 && idle <= (up ?? 0) + 0.01, `idle ${idle} over 1 CPU`);
  });

  await t.test("meminfo: MemTotal = 256 MiB, MemFree falls when the cgroup allocates 100 MiB", async () => {
    const before = view("proc/meminfo");
    assert.equal(meminfoField(before, "MemTotal"), 256 * 1024);
    const hog = cg.spawnInside(
      `exec ${process.execPath} -e "const b = Buffer.alloc(100 * 2 ** 20, 1); console.log('ready', b[5]); setInterval(() => {}, 1e6)"`,
    );
    await waitForOutput(hog, "ready");
    const after = view("proc/meminfo");
    const fell = meminfoField(before, "MemFree") - meminfoField(after, "MemFree");
    assert.ok(fell >= 95 * 1024, `MemFree fell by ${fell} kB`);
    assert.ok(meminfoField(after, "MemAvailable") >= meminfoField(after, "MemFree"));
    hog.kill("SIGKILL");
  });

  const burner = cg.spawnInside("echo ready; while :; do :; done");
  t.after(() => burner.kill("SIGKILL"));
  await t.test("stat: one cpu line, busy rises while burning CPU, idle never goes backwards", async () => {
    const s0 = parseStat(view("proc/stat"));
    assert.deepEqual([...s0.perCpu.keys()], [0]);
    await waitForOutput(burner, "ready");
    let prevIdle = s0.total[3] ?? 0;
    for (let i = 0; i < 8; i++) {
      await sleep(250);
      const s = parseStat(view("proc/stat"));
      assert.ok((s.total[3] ?? 0) >= prevIdle, "idle is monotonic");
      prevIdle = s.total[3] ?? 0;
    }
    const s1 = parseStat(view("proc/stat"));
    const busy = (s: typeof s1): number => (s.total[0] ?? 0) + (s.total[2] ?? 0);
    // 2 s at a quota of half a CPU ≈ 100 ticks; demand a clear rise, well below the quota's bound
    assert.ok(busy(s1) - busy(s0) >= 40, `busy rose by ${busy(s1) - busy(s0)} ticks`);
    assert.ok(busy(s1) - busy(s0) <= 200, "quota caps it near 50% of one CPU");
  });

  await t.test(
    "loadavg: the burning thread counts as running; total counts the cgroup's threads",
    async () => {
      // A process with 4 worker threads (plus node's own) joins the sleeper and the burner.
      const threaded = cg.spawnInside(
        `exec ${process.execPath} -e "const { Worker } = require('node:worker_threads'); for (let i = 0; i < 4; i++) new Worker('setInterval(() => {}, 1e6)', { eval: true }); setTimeout(() => console.log('ready'), 300)"`,
      );
      t.after(() => threaded.kill("SIGKILL"));
      await waitForOutput(threaded, "ready");
      const threadsNow = cg.threadCount();
      const sampler = await samplerOfOneCgroup(cg.path);
      const withSampler = createViewRenderer({ shareWindowMs: 0, sampler });
      const loadavg = withSampler.renderForCgroup("proc/loadavg", cg.path);
      const m = /^(\d+\.\d\d) (\d+\.\d\d) (\d+\.\d\d) (\d+)\/(\d+) \d+\n$/.exec(loadavg);
      assert.ok(m, loadavg);
      assert.ok(Number(m[4]) >= 1, `running ${m[4]}`);
      assert.ok(Number(m[5]) >= 2 + 5, `threads ${m[5]}: sleep, the burner, node's main + 4 workers`);
      assert.ok(
        Math.abs(Number(m[5]) - threadsNow) <= 2,
        `threads ${m[5]} vs the cgroup's tasks file ${threadsNow}`,
      );
      assert.ok(Number(m[1]) > 0, "one 5 s step with a runnable thread lifts load1 above 0");
      burner.kill("SIGKILL");
    },
  );

  await t.test("diskstats: write sectors rise after 8 MiB written with O_DIRECT", async () => {
    const name = (d: { major: number; minor: number }): string => `${d.major}:${d.minor}`;
    const sectorsWritten = (): number => {
      const line = parseDiskstats(view("proc/diskstats")).find((d) => name(d) === dev);
      return line?.fields[6] ?? 0;
    };
    const before = sectorsWritten();
    const res = await runInside(cg, `dd if=/dev/zero of=${scratch}/f bs=1M count=8 oflag=direct 2>&1`);
    assert.equal(res.code, 0, res.stdout);
    const after = sectorsWritten();
    assert.ok(after - before >= 16384, `sectors written rose by ${after - before}`);
    for (const d of parseDiskstats(view("proc/diskstats"))) assert.equal(d.fields.length, 17);
  });
});
