import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { repoRoot } from "../helpers/paths.js";
import { hasCommand, isRoot, requirePrereq } from "../helpers/prereq.js";
import { createRuncLab, lxcfsStyleBinds, runcAvailable } from "../helpers/runc.js";
import { startSystemdManager, systemdManagerUnavailable } from "../helpers/systemd-manager.js";
import { waitFor } from "../helpers/wait.js";
import { hasDevFuse, mountedFsType } from "./fuse-daemon.js";
import {
  assertNoFailedReads,
  buildReader,
  startReaders,
  stopReaders,
  type Window,
} from "./handover-readers.js";

const RESTARTS = 5;
const UNIT = "boxscope.service";
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** deploy/systemd/boxscope.service as install.sh renders it, for this checkout, Node and config. */
function renderedUnit(config: string): string {
  return readFileSync(join(repoRoot, "deploy/systemd/boxscope.service"), "utf8")
    .replaceAll("/opt/node-v24/bin/node", process.execPath)
    .replaceAll("/opt/boxscope", repoRoot)
    .replaceAll("/etc/boxscope/config.yaml", config);
}

const count = (log: string, msg: string): number => log.split(`"msg":"${msg}"`).length - 1;

test(`boxscope.service: ${RESTARTS} \`systemctl restart\`s in a row keep the live mount in systemd's fd store; 20 readers in 2 containers see no failed or wrong read`, {
  timeout: 300_000,
}, async (t) => {
  if (!requirePrereq(t, isRoot() && hasDevFuse(), "needs root and /dev/fuse")) return;
  if (!requirePrereq(t, runcAvailable(), "needs runc, busybox-static, procps and sysstat")) return;
  if (!requirePrereq(t, hasCommand("cc"), "needs a C compiler (cc) for the in-container reader")) return;
  const unavailable = systemdManagerUnavailable();
  if (!requirePrereq(t, unavailable === undefined, unavailable ?? "")) return;
  const dir = mkdtempSync(join(tmpdir(), "boxscope-systemd-restart-"));
  const shared = join(dir, "shared");
  const mnt = join(shared, "mnt");
  const log = join(dir, "boxscope.log");
  const lab = createRuncLab(dir, "systemd-restart");
  const manager = await startSystemdManager(join(dir, "systemd"), shared);
  t.after(async () => {
    await lab.destroy();
    await manager.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  buildReader(dir);
  const config = join(dir, "config.yaml");
  writeFileSync(
    config,
    `up:\n  shim: on\n  exporter: off\n  logwatcher: off\n  ship: off\nshim:\n  mountpoint: ${mnt}\n  mountHandoverSocket: ${join(dir, "handover.sock")}\n`,
  );
  writeFileSync(join(manager.unitDir, UNIT), renderedUnit(config));
  // The one change for the test: the log into a file (no journald here).
  mkdirSync(join(manager.unitDir, `${UNIT}.d`));
  writeFileSync(
    join(manager.unitDir, `${UNIT}.d/test.conf`),
    `[Service]\nStandardOutput=append:${log}\nStandardError=append:${log}\n`,
  );
  const daemonLog = (): string => readFileSync(log, "utf8");
  const started = manager.systemctl("start", UNIT);
  assert.equal(started.code, 0, `systemctl start: ${started.stderr}\n${daemonLog()}`);
  assert.equal(mountedFsType(mnt), "fuse.boxscope", "the unit's mount is seen outside its namespace");

  const binds = lxcfsStyleBinds(mnt);
  const small = await lab.start({ name: "small", memoryBytes: 256 << 20, cpus: "0", binds });
  const large = await lab.start({ name: "large", memoryBytes: 512 << 20, cpus: "0", binds });
  await sleep(500); // runc renders the views before it writes the limits (see runc-restart.test.ts)
  const readers = [
    { container: small, ...(await startReaders(small, 262144)) },
    { container: large, ...(await startReaders(large, 524288)) },
  ];

  const windows: Window[] = [];
  for (let i = 1; i <= RESTARTS; i++) {
    const before = manager.property(UNIT, "MainPID");
    const from = Date.now();
    const r = manager.systemctl("restart", UNIT);
    assert.equal(r.code, 0, `restart ${i}: ${r.stderr}\n${daemonLog()}`);
    windows.push({ from, to: Date.now() });
    const after = manager.property(UNIT, "MainPID");
    assert.notEqual(after, before, `restart ${i}: a new process`);
    const l = daemonLog();
    assert.equal(count(l, "left the live mount in systemd's fd store"), i, `restart ${i}: ${l}`);
    assert.equal(count(l, "took the live mount over from systemd's fd store"), i, `restart ${i}: ${l}`);
    // Adopted, the connection is dropped from the store: a crash must end it (and the next start heals).
    assert.equal(manager.property(UNIT, "NFileDescriptorStore"), "0", `restart ${i}`);
    assert.equal(mountedFsType(mnt), "fuse.boxscope", `restart ${i}: the mount lives on`);
    await sleep(300); // reads between the restarts too
  }
  assertNoFailedReads(t, await stopReaders(readers), windows, `${RESTARTS} systemctl restarts`);

  // A crash still heals: nothing is stored, the connection ends with the process, Restart=always
  // starts a daemon that mounts anew and repairs the containers' binds.
  const crashed = manager.property(UNIT, "MainPID");
  assert.equal(manager.systemctl("kill", "-s", "KILL", UNIT).code, 0);
  await waitForLog(daemonLog, "stale bind mounts repaired", 1);
  assert.notEqual(manager.property(UNIT, "MainPID"), crashed);
  assert.equal(count(daemonLog(), "took the live mount over from systemd's fd store"), RESTARTS);
  const afterCrash = await small.exec("grep MemTotal /proc/meminfo");
  assert.match(afterCrash.stdout, /MemTotal:\s+262144 kB/, afterCrash.stderr);

  // A stop ends the connection (systemd empties the store of a stopped unit); the next start heals.
  assert.equal(manager.systemctl("stop", UNIT).code, 0);
  assert.equal(manager.property(UNIT, "NFileDescriptorStore"), "0");
  assert.equal(manager.systemctl("start", UNIT).code, 0, daemonLog());
  await waitForLog(daemonLog, "stale bind mounts repaired", 2);
  assert.equal(count(daemonLog(), "took the live mount over from systemd's fd store"), RESTARTS);
  const afterStop = await large.exec("grep MemTotal /proc/meminfo");
  assert.match(afterStop.stdout, /MemTotal:\s+524288 kB/, afterStop.stderr);
});

async function waitForLog(read: () => string, msg: string, n: number): Promise<void> {
  await waitFor(`"${msg}" logged ${n} times`, () => count(read(), msg) >= n, 60_000).catch((e: Error) => {
    throw new Error(`${e.message}: ${read()}`);
  });
}
