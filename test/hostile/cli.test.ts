import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { freePort } from "../helpers/kafka.js";
import { CliProcess, shipArgs, sleep } from "../pipeline/harness.js";

/**
 * A careless operator's command lines. Each must end in one line on stderr naming what was wrong
 * and a non-zero exit, promptly: no stack trace, no spinning, no running on as if all were well.
 * The deadline only stops a hung command from hanging the suite; the time taken is reported.
 */
const HANG_DEADLINE_MS = 20_000;

interface Ended {
  code: number | null;
  stderr: string;
  ms: number;
}

async function runToEnd(args: string[], env: Record<string, string> = {}): Promise<Ended> {
  const started = Date.now();
  const p = new CliProcess(args, env);
  const code = await Promise.race([p.exited, sleep(HANG_DEADLINE_MS).then(() => "hung" as const)]);
  if (code === "hung") {
    await p.kill9();
    assert.fail(`boxscope ${args.join(" ")} still running after ${HANG_DEADLINE_MS} ms:\n${p.stderr}`);
  }
  return { code, stderr: p.stderr, ms: Date.now() - started };
}

function assertOneLine(r: Ended, names: RegExp): void {
  const lines = r.stderr.split("\n").filter((l) => l !== "");
  assert.equal(lines.length, 1, `expected one line, got:\n${r.stderr}`);
  assert.match(lines[0] ?? "", /^boxscope: /);
  assert.match(lines[0] ?? "", names);
  assert.ok(r.code !== null && r.code !== 0, `exit code ${r.code}`);
}

/** A scratch directory, removed after the test with whatever was mounted inside it. */
function scratch(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), "boxscope-test-hostile-cli-"));
  t.after(() => {
    for (const line of readFileSync("/proc/self/mounts", "utf8").split("\n")) {
      const at = line.split(" ")[1];
      if (at?.startsWith(`${dir}/`)) execFileSync("umount", ["-l", at]);
    }
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** A filesystem of its own that can be read-only (root ignores permission bits: chmod proves nothing). */
function mountTmpfs(dir: string, mode: "ro" | "rw"): void {
  mkdirSync(dir, { recursive: true });
  execFileSync("mount", ["-t", "tmpfs", "-o", `${mode},size=1m`, "tmpfs", dir]);
}

test("ship --positions below /proc: one line, no spinning", { timeout: 60_000 }, async (t) => {
  const dir = scratch(t);
  const r = await runToEnd(
    shipArgs({ spool: dir, brokers: "127.0.0.1:1", positions: "/proc/boxscope-nonexistent/p.json" }),
  );
  assertOneLine(r, /\/proc\/boxscope-nonexistent.*ENOENT/);
  t.diagnostic(`exit ${r.code} after ${r.ms} ms`);
});

test("logwatcher --spool below /proc: one line, no spinning", { timeout: 60_000 }, async (t) => {
  const dir = scratch(t);
  const r = await runToEnd(["logwatcher", "--log-root", dir, "--spool", "/proc/boxscope-nonexistent/spool"]);
  assertOneLine(r, /spool \/proc\/boxscope-nonexistent\/spool: cannot create/);
  t.diagnostic(`exit ${r.code} after ${r.ms} ms`);
});

test("shim mount --mountpoint below /proc or through a regular file: one line", {
  timeout: 60_000,
}, async (t) => {
  for (const [mountpoint, names] of [
    [
      "/proc/boxscope-nonexistent/mnt",
      /mountpoint \/proc\/boxscope-nonexistent\/mnt: cannot create .*ENOENT/,
    ],
    ["/etc/hostname/mnt", /mountpoint \/etc\/hostname\/mnt: .*ENOTDIR/],
  ] as const) {
    const r = await runToEnd(["shim", "mount", "--mountpoint", mountpoint]);
    assertOneLine(r, names);
    t.diagnostic(`${mountpoint}: exit ${r.code} after ${r.ms} ms`);
  }
});

test("ship --positions through a regular file: one line, no stack", { timeout: 60_000 }, async (t) => {
  const dir = scratch(t);
  writeFileSync(join(dir, "hostname"), "h\n");
  for (const positions of [join(dir, "hostname", "p.json"), join(dir, "hostname", "sub", "p.json")]) {
    const r = await runToEnd(shipArgs({ spool: dir, brokers: "127.0.0.1:1", positions }));
    assertOneLine(r, /hostname.*(not a directory|ENOTDIR)/);
    t.diagnostic(`${positions}: exit ${r.code} after ${r.ms} ms`);
  }
});

test("exporter --listen on a taken port: one line naming the address", { timeout: 60_000 }, async (t) => {
  const dir = scratch(t);
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => server.close());
  const address = server.address();
  assert.ok(address && typeof address === "object");
  const listen = `127.0.0.1:${address.port}`;
  const r = await runToEnd(["exporter", "--listen", listen, "--no-kmsg", "--log-root", dir]);
  assertOneLine(r, new RegExp(`exporter listen ${listen}: cannot listen \\(EADDRINUSE\\)`));
  t.diagnostic(`exit ${r.code} after ${r.ms} ms`);
});

test("a misspelt BOXSCOPE_* variable is an error, as the same typo in the file is", {
  timeout: 60_000,
}, async (t) => {
  const dir = scratch(t);
  const args = ["exporter", "--listen", "127.0.0.1:0", "--no-kmsg", "--log-root", dir];
  const key = await runToEnd(args, { BOXSCOPE_EXPORTER_LOG_ROT: "/elsewhere" });
  assertOneLine(
    key,
    /BOXSCOPE_EXPORTER_LOG_ROT: unknown setting of exporter \(did you mean BOXSCOPE_EXPORTER_LOG_ROOT\?\)/,
  );
  assert.equal(key.code, 2);
  const section = await runToEnd(args, { BOXSCOPE_EXPORTR_LISTEN: "127.0.0.1:0" });
  assertOneLine(section, /BOXSCOPE_EXPORTR_LISTEN: unknown variable/);
  assert.equal(section.code, 2);
});

test("ship with a read-only positions directory fails at start, not after hours of shipping", {
  timeout: 60_000,
}, async (t) => {
  const dir = scratch(t);
  mountTmpfs(join(dir, "ro"), "ro");
  const port = await freePort();
  const r = await runToEnd(
    shipArgs({ spool: dir, brokers: `127.0.0.1:${port}`, positions: join(dir, "ro", "p.json") }),
  );
  assertOneLine(r, /positions .*ro\/p\.json: cannot write in .*\(EROFS\)/);
  t.diagnostic(`exit ${r.code} after ${r.ms} ms`);
});

test("ship whose positions directory turns read-only: counts the failed writes and exits 3", {
  timeout: 90_000,
}, async (t) => {
  const dir = scratch(t);
  const positionsDir = join(dir, "pos");
  mountTmpfs(positionsDir, "rw");
  mkdirSync(join(dir, "spool"));
  mkdirSync(join(dir, "logs"));
  writeFileSync(join(positionsDir, "p.json"), JSON.stringify({ version: 1, files: {} }));
  const metricsPort = await freePort();
  const p = new CliProcess([
    ...shipArgs({
      spool: join(dir, "spool"),
      logRoot: join(dir, "logs"),
      brokers: `127.0.0.1:${await freePort()}`,
      positions: join(positionsDir, "p.json"),
    }),
    "--metrics-listen",
    `127.0.0.1:${metricsPort}`,
  ]);
  t.after(() => p.kill9());
  await p.waitForStderr(/"msg":"positions loaded"/, 30_000);
  execFileSync("mount", ["-o", "remount,ro", positionsDir]);
  // A newly tracked file is written down at once: that write fails now.
  writeFileSync(join(dir, "logs", "a.log"), "one\n");
  symlinkSync(join(dir, "logs", "a.log"), join(dir, "spool", "c1__a.log"));
  await p.waitForStderr(/cannot write the positions file/, 30_000);
  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const failures = Number(/^boxscope_ship_position_write_errors_total (\d+)/m.exec(metrics)?.[1]);
  assert.ok(failures >= 1, metrics);
  assert.equal(await p.term(), 3, p.stderr);
  assert.match(p.stderr, /p\.json: not saved \(EROFS\)/);
});
