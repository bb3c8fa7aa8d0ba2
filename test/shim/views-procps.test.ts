import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { parseDiskstats } from "../../cgroup/host.js";
import { createViewRenderer } from "../../shim/render.js";
import { hasCommand, requirePrereq } from "../helpers/prereq.js";
import { createLiveCgroup, deviceOf, liveCgroupsAvailable, runInside, waitForOutput } from "./live-cgroup.js";
import { meminfoField, samplerOfOneCgroup } from "./views-helpers.js";

const MiB = 1024 * 1024;
const BOUND = [
  "proc/meminfo",
  "proc/stat",
  "proc/uptime",
  "proc/loadavg",
  "proc/diskstats",
  "proc/cpuinfo",
  "proc/swaps",
  "sys/devices/system/cpu/online",
] as const;

test("procps and sysstat read the rendered views bind-mounted over /proc", { timeout: 60_000 }, async (t) => {
  if (!requirePrereq(t, liveCgroupsAvailable(), "needs root and cgroup v1 controllers")) return;
  const tools = ["free", "vmstat", "uptime", "top", "iostat", "unshare", "getconf"];
  if (!requirePrereq(t, tools.every(hasCommand), `needs ${tools.join(", ")} (apt procps sysstat util-linux)`))
    return;

  const cg = createLiveCgroup("views");
  const dir = mkdtempSync("/var/tmp/boxscope-test-views-procps-");
  t.after(async () => {
    await cg.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  cg.setMemoryLimit(256 * MiB);
  cg.setQuota(50_000, 100_000);
  cg.countIoOn(deviceOf(dir));

  const hog = cg.spawnInside(
    `exec ${process.execPath} -e "const b = Buffer.alloc(64 * 2 ** 20, 1); console.log('ready', b[1]); setInterval(() => {}, 1e6)"`,
  );
  await waitForOutput(hog, "ready");
  const dd = await runInside(cg, `dd if=/dev/zero of=${dir}/f bs=1M count=4 oflag=direct 2>&1`);
  assert.equal(dd.code, 0, dd.stdout);

  const sampler = await samplerOfOneCgroup(cg.path);
  const renderer = createViewRenderer({ sampler, shareWindowMs: 0 });
  const files = join(dir, "views");
  const rendered = new Map<string, string>();
  for (const view of BOUND) {
    const text = renderer.renderForCgroup(view, cg.path);
    rendered.set(view, text);
    mkdirSync(dirname(join(files, view)), { recursive: true });
    writeFileSync(join(files, view), text);
  }
  const meminfo = rendered.get("proc/meminfo") as string;

  /** Runs `script` in a private mount namespace where the rendered files cover the host's. */
  const inViews = (script: string): string => {
    const binds = BOUND.map((v) => `mount --bind ${join(files, v)} /${v}`).join(" && ");
    const res = spawnSync("unshare", ["-m", "sh", "-c", `${binds} && ${script}`], { encoding: "utf8" });
    assert.equal(res.status, 0, `${script}: ${res.stderr}`);
    return res.stdout;
  };

  await t.test("free -b: the container's total, free and available", () => {
    const out = inViews("free -b");
    const mem = /^Mem:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$/m.exec(out);
    assert.ok(mem, out);
    assert.equal(Number(mem[1]), 256 * MiB);
    assert.equal(Number(mem[3]), meminfoField(meminfo, "MemFree") * 1024);
    assert.equal(Number(mem[6]), meminfoField(meminfo, "MemAvailable") * 1024);
    assert.ok(Number(mem[2]) >= 60 * MiB, `used ${mem[2]} includes the 64 MiB buffer`);
  });

  await t.test("vmstat: free memory column is the container's", () => {
    const lines = inViews("vmstat").trim().split("\n");
    const header = (lines[1] ?? "").trim().split(/\s+/);
    const values = (lines[2] ?? "").trim().split(/\s+/).map(Number);
    assert.equal(values[header.indexOf("free")], meminfoField(meminfo, "MemFree"));
    assert.equal(values[header.indexOf("buff")], 0);
    const idle = values[header.indexOf("id")] ?? -1;
    assert.ok(idle >= 0 && idle <= 100);
  });

  await t.test("uptime: the container's age and load average", () => {
    const out = inViews("uptime");
    const [l1, l5, l15] = (rendered.get("proc/loadavg") as string).split(" ");
    assert.match(out, /up 0 min,/);
    assert.ok(out.includes(`load average: ${l1}, ${l5}, ${l15}`), out);
  });

  await t.test("top -bn1: 256 MiB of memory, one CPU (the half-CPU quota)", () => {
    const out = inViews("top -bn1 | head -5; getconf _NPROCESSORS_ONLN");
    assert.match(out, /MiB Mem :\s+256\.0 total/);
    assert.match(out, /%Cpu\(s\):/);
    assert.match(out, /\n1\n$/, "glibc counts the online CPUs from the bound cpu/online file");
  });

  await t.test("iostat: only the container's device, with its written kB", () => {
    const ours = parseDiskstats(rendered.get("proc/diskstats") as string);
    assert.equal(ours.length, 1, rendered.get("proc/diskstats"));
    const d = ours[0] as (typeof ours)[number];
    // sysstat 12 reads /sys/block/<dev>/stat by default; `-p ALL` makes it read /proc/diskstats.
    const out = inViews("iostat -p ALL -d -k");
    const line = out.split("\n").filter((l) => /^\S+\s+[\d.]+\s/.test(l) && !l.startsWith("Linux"));
    assert.equal(line.length, 1, out);
    const cols = (line[0] as string).trim().split(/\s+/);
    assert.equal(cols[0], d.name);
    assert.equal(Number(cols[6]), Math.floor((d.fields[6] ?? 0) / 2), "kB_wrtn = sectors written / 2");
    assert.ok(Number(cols[6]) >= 4096);
  });
  hog.kill("SIGKILL");
});
