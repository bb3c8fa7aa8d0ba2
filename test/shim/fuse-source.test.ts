import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { promisify } from "node:util";
import { pino } from "pino";
import { Registry } from "prom-client";
import { registerShimMetrics } from "../../shim/fuse/metrics.js";
import {
  type RunningShimMount,
  type ShimMountOptions,
  startShimMount,
  type ViewSource,
} from "../../shim/fuse/mount.js";
import { hasCommand, isRoot, requirePrereq } from "../helpers/prereq.js";
import { hasDevFuse, mountedFsType } from "./fuse-daemon.js";

const run = promisify(execFile);

/** An in-process mount under a fresh directory, stopped and removed after the test; its mountpoint. */
async function mountInProcess(
  t: TestContext,
  prefix: string,
  opts: Omit<ShimMountOptions, "mountpoint">,
  source: ViewSource,
): Promise<{ mnt: string; mount: RunningShimMount }> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const mnt = join(dir, "mnt");
  let mount: RunningShimMount | undefined;
  t.after(async () => {
    await mount?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  mount = await startShimMount({ mountpoint: mnt, ...opts }, { logger: pino({ level: "silent" }), source });
  return { mnt, mount };
}

// The mount in this process: reads must come from child processes, never from this (the JavaScript)
// thread, which answers the FUSE requests.
test("mount in-process: view sources' strings, Buffers and throws; errors logged once; stop unmounts", {
  timeout: 60_000,
}, async (t) => {
  if (!requirePrereq(t, isRoot() && hasDevFuse(), "needs root and /dev/fuse")) return;
  const dir = mkdtempSync(join(tmpdir(), "boxscope-fuse-source-"));
  const mnt = join(dir, "mnt");
  const lines: string[] = [];
  const logger = pino({ level: "info" }, { write: (s: string) => lines.push(s) });
  let calls = 0;
  let mount: RunningShimMount | undefined;
  t.after(async () => {
    await mount?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  mount = await startShimMount(
    { mountpoint: mnt, files: ["a/text", "a/bytes", "b/broken"], cacheTtlMs: 0, threads: 1 },
    {
      logger,
      source: (path, caller) => {
        calls++;
        if (path === "a/text") return `caller ${caller.pid} ${caller.pidNamespace}\n`;
        if (path === "a/bytes") return Buffer.from([0x68, 0x69, 0x0a]);
        throw new Error(`cgroup of pid ${caller.pid} vanished`);
      },
    },
  );
  assert.equal(mountedFsType(mnt), "fuse.boxscope");

  const text = await run("sh", ["-c", `echo $$; cat ${mnt}/a/text`]);
  const [shellPid, served] = text.stdout.split("\n");
  const ns = readlinkSync("/proc/self/ns/pid");
  assert.match(served ?? "", /^caller \d+ pid:\[\d+\]$/, "the caller's pid and identity reach the source");
  assert.ok(served?.endsWith(` ${ns}`), `the caller's pid namespace (${ns}) reaches the source: ${served}`);
  assert.ok(!served?.startsWith(`caller ${process.pid} `));
  assert.ok(Number(shellPid) > 0);
  assert.equal((await run("cat", [join(mnt, "a/bytes")])).stdout, "hi\n");

  for (let i = 0; i < 20; i++) {
    await assert.rejects(run("cat", [join(mnt, "b/broken")]), /Input\/output error/);
  }
  const failures = lines.filter((l) => l.includes("view failed; answering EIO"));
  assert.equal(failures.length, 1, "one log line for one cause");
  assert.ok(calls >= 22);

  // stat sees the caller's length (sendfile readers need it); busybox cat uses sendfile.
  assert.equal((await run("stat", ["-c", "%s", join(mnt, "a/bytes")])).stdout.trim(), "3");
  assert.equal((await run("busybox", ["cat", join(mnt, "a/bytes")])).stdout, "hi\n");

  const registry = new Registry();
  registerShimMetrics(registry, mount.stats, mount.repaired);
  const text2 = await registry.metrics();
  const value = (name: string): number => Number(new RegExp(`^${name} (\\d+)$`, "m").exec(text2)?.[1]);
  assert.ok(value("boxscope_shim_opens_total") >= 22, text2);
  assert.ok(value("boxscope_shim_render_errors_total") >= 20, text2);
  assert.equal(value("boxscope_shim_cache_hits_total"), 0, "cache off in this test");

  await mount.stop();
  mount = undefined;
  assert.equal(mountedFsType(mnt), undefined);
});

test("mount in-process: a source's { uncached } bytes are served but never cached; plain bytes are", {
  timeout: 60_000,
}, async (t) => {
  if (!requirePrereq(t, isRoot() && hasDevFuse(), "needs root and /dev/fuse")) return;
  let renders = 0;
  // A cache far longer than the test: every repeat of a cacheable read is a hit.
  const { mnt, mount } = await mountInProcess(
    t,
    "boxscope-fuse-uncached-",
    { files: ["kept", "settling"], cacheTtlMs: 600_000, threads: 1 },
    (path) => {
      renders++;
      const text = `render ${renders}\n`;
      return path === "settling" ? { uncached: text } : text;
    },
  );
  const readThrice = async (file: string): Promise<string[]> => {
    const out: string[] = [];
    for (let i = 0; i < 3; i++) out.push((await run("cat", [join(mnt, file)])).stdout);
    return out;
  };
  const kept = await readThrice("kept");
  assert.equal(new Set(kept).size, 1, `cacheable bytes are reused: ${kept}`);
  const settling = await readThrice("settling");
  assert.equal(new Set(settling).size, 3, `uncached bytes are rendered for every open: ${settling}`);
  assert.ok(mount.stats().cacheHits >= 2, "the cacheable repeats were cache hits");
});

test("mount in-process: a read from the start again is rendered afresh; a read further on continues its bytes", {
  timeout: 60_000,
}, async (t) => {
  if (!requirePrereq(t, isRoot() && hasDevFuse(), "needs root and /dev/fuse")) return;
  if (!requirePrereq(t, hasCommand("python3"), "needs python3")) return;
  let renders = 0;
  // Longer than one read, so a read further on has bytes to continue.
  const { mnt } = await mountInProcess(
    t,
    "boxscope-fuse-reread-",
    { files: ["view"], cacheTtlMs: 0, threads: 1 },
    () => `render ${++renders}\n${".".repeat(200_000)}\n`,
  );
  // busybox cat (sendfile) before anything stat()ed the file: a size of 0 in the kernel's inode
  // would make sendfile say "empty" without asking the daemon.
  assert.equal((await run("busybox", ["cat", join(mnt, "view")])).stdout.length, 200_010);
  renders = 0;
  // procps keeps /proc/stat and /proc/meminfo open and seeks back to 0 before each refresh.
  const script = `
import os, sys
p = sys.argv[1]
fd = os.open(p, os.O_RDONLY)
first = os.read(fd, 9)
rest = b""
while True:
    b = os.read(fd, 65536)
    if not b: break
    rest += b
os.lseek(fd, 0, os.SEEK_SET)
again = os.read(fd, 9)
third = os.pread(fd, 9, 0)
tail = os.pread(fd, 9, 200_008)
print(first, len(first + rest), again, third, tail)
print(os.access(p, os.R_OK), os.access(p, os.X_OK), os.stat(p).st_size)
`;
  const out = (await run("python3", ["-c", script, join(mnt, "view")])).stdout.trim().split("\n");
  assert.equal(out[0], "b'render 1\\n' 200010 b'render 2\\n' b'render 3\\n' b'.\\n'", "reads and renders");
  // access(2) and stat(2) answered without default_permissions: readable, not executable, the
  // caller's own length (that stat renders once more).
  assert.equal(out[1], "True False 200010");
  // exec from a shell: a child spawned by this process directly (vfork) would hold up the thread
  // that answers the exec's permission check.
  await assert.rejects(run("sh", ["-c", join(mnt, "view")]), /Permission denied/);
});

test("mount in-process: a read from where a fresh rendering's answer ended continues that rendering", {
  timeout: 60_000,
}, async (t) => {
  if (!requirePrereq(t, isRoot() && hasDevFuse(), "needs root and /dev/fuse")) return;
  if (!requirePrereq(t, hasCommand("python3"), "needs python3")) return;
  let renders = 0;
  // Every re-read is rendered here, on this thread, while the loop threads serve the reader's next
  // read at once: renderings alternate in length, so a read served from the previous one shows.
  const { mnt } = await mountInProcess(
    t,
    "boxscope-fuse-reread-race-",
    { files: ["view"], cacheTtlMs: 0, threads: 4 },
    () => `${"x".repeat(++renders % 2 === 0 ? 10 : 11)}\n`,
  );
  // Like top: one open, then seek to 0 and read to the end, again and again.
  const script = `
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
bad = 0
for i in range(5000):
    os.lseek(fd, 0, os.SEEK_SET)
    data = b""
    while True:
        b = os.read(fd, 4096)
        if not b: break
        data += b
    if data not in (b"x" * 10 + b"\\n", b"x" * 11 + b"\\n"):
        bad += 1
print(bad)
`;
  const out = (await run("python3", ["-c", script, join(mnt, "view")])).stdout.trim();
  assert.equal(out, "0", "reads that were not one whole rendering");
  assert.ok(renders > 1000, `re-reads were rendered afresh (${renders})`);
});
