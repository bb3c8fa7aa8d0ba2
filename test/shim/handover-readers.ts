import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { repoRoot } from "../helpers/paths.js";
import type { RuncContainer } from "../helpers/runc.js";

/**
 * Readers in runc containers that loop over their bind-mounted views while the daemon behind the
 * mount is replaced (test/shim/handover-reader.c): every read is checked, failures and wrong bytes
 * are counted per reader.
 */

const FILES = [
  "/proc/meminfo",
  "/proc/stat",
  "/proc/cpuinfo",
  "/proc/loadavg",
  "/proc/uptime",
  "/sys/devices/system/cpu/online",
];
/** Per container: readers that open/read/close, and readers that hold the files open like top. */
const MODES = ["loop", "loop", "loop", "loop", "loop", "loop", "hold", "hold", "hold", "hold"];

export interface ReaderResult {
  container: string;
  mode: string;
  reads: number;
  failed: number;
  wrong: number;
  maxUs: number;
  /** Wall-clock start of the slowest read. */
  maxAtMs: number;
  firstError: string;
}

/** When the mount was not read (wall clock, ms): a handover's window. */
export interface Window {
  from: number;
  to: number;
}

/** Builds the reader into the lab's rootfs (`dir`/rootfs/bin/handover-reader). */
export function buildReader(dir: string): void {
  const cc = spawnSync(
    "cc",
    ["-O2", "-o", join(dir, "rootfs/bin/handover-reader"), join(repoRoot, "test/shim/handover-reader.c")],
    { encoding: "utf8" },
  );
  assert.equal(cc.status, 0, `cc handover-reader.c: ${cc.stderr}`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Starts the readers of one container, each asserting MemTotal is `memTotalKb`; resolves with their
 * results once `stopReaders` was called. Resolves after every reader read once.
 */
export async function startReaders(
  c: RuncContainer,
  memTotalKb: number,
): Promise<{ results: Promise<ReaderResult[]> }> {
  const start = MODES.map(
    (m, i) => `/bin/handover-reader ${m} ${memTotalKb} ${FILES.join(" ")} > /tmp/result.${i} &`,
  ).join("\n");
  const results = c
    .exec(`rm -f /tmp/stop /tmp/ready.*\n${start}\nwait\ncat /tmp/result.*`, 280_000)
    .then((r) => {
      assert.equal(r.code, 0, `${c.name}: readers: ${r.stderr}`);
      return r.stdout
        .trim()
        .split("\n")
        .map((l) => ({ ...(JSON.parse(l) as Omit<ReaderResult, "container">), container: c.name }));
    });
  results.catch(() => {}); // awaited by the caller; a failure before then must not be unhandled
  for (let i = 0; i < 600; i++) {
    const r = await c.exec("ls /tmp | grep -c '^ready\\.' || true");
    if (Number(r.stdout.trim()) === MODES.length) return { results };
    await sleep(100);
  }
  throw new Error(`${c.name}: the readers did not all read once`);
}

/** Tells the readers of `containers` to stop and collects their results. */
export async function stopReaders(
  running: { container: RuncContainer; results: Promise<ReaderResult[]> }[],
): Promise<ReaderResult[]> {
  for (const r of running) await r.container.exec("touch /tmp/stop");
  const all = (await Promise.all(running.map((r) => r.results))).flat();
  assert.equal(all.length, running.length * MODES.length);
  return all;
}

/**
 * Asserts every reader read and none saw a failed or wrong read; the figures (reads, the windows,
 * the slowest read and whether it overlapped a window) go to the test's output.
 */
export function assertNoFailedReads(
  t: TestContext,
  all: ReaderResult[],
  windows: Window[],
  what: string,
): void {
  const slowest = all.reduce((a, r) => (r.maxUs > a.maxUs ? r : a));
  const overlapped = all.filter((r) =>
    windows.some((w) => r.maxAtMs <= w.to && r.maxAtMs + r.maxUs / 1000 >= w.from),
  ).length;
  const reads = all.reduce((n, r) => n + r.reads, 0);
  const held = Math.max(...all.filter((r) => r.mode === "hold").map((r) => r.maxUs)) / 1000;
  t.diagnostic(
    `${reads} reads by ${all.length} readers over ${what}; windows ` +
      `${windows.map((w) => (w.to - w.from).toFixed(1)).join(", ")} ms; longest read ${slowest.maxUs / 1000} ms ` +
      `(${slowest.container}, ${slowest.mode}; held-open readers: ${held} ms); ${overlapped} of ${all.length} readers' slowest reads overlapped a window`,
  );
  for (const [i, r] of all.entries()) {
    assert.ok(r.reads > 0, `reader ${i} (${r.container}, ${r.mode}) read nothing`);
    assert.equal(r.failed, 0, `reader ${i} (${r.container}, ${r.mode}): ${r.failed} failed: ${r.firstError}`);
    assert.equal(r.wrong, 0, `reader ${i} (${r.container}, ${r.mode}): ${r.wrong} wrong: ${r.firstError}`);
  }
}
