import assert from "node:assert/strict";
import { constants } from "node:os";
import { test } from "node:test";
import { pino } from "pino";
import { staleBinds } from "./heal.js";
import { renderWithLogOnce } from "./mount.js";
import { parseMountinfo } from "./mountpoint.js";

function capturingLogger(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = pino({ level: "info" }, { write: (s: string) => lines.push(s) });
  return { logger, lines };
}

const KEY = "pid:[4026531836]\n0::/docker/abc\n";

test("a throwing view answers EIO and is logged once per cause, whatever the pid", () => {
  const { logger, lines } = capturingLogger();
  const render = renderWithLogOnce(
    ["proc/meminfo", "proc/stat"],
    (path, caller) => {
      if (path === "proc/stat") throw new Error(`no such cgroup /docker/${caller.pid}abcdef0123456789`);
      return `pid ${caller.pid}`;
    },
    logger,
  );
  assert.equal(render(0, 42, 0, 0, KEY), "pid 42");
  for (let pid = 100; pid < 150; pid++) assert.equal(render(1, pid, 0, 0, KEY), -constants.errno.EIO);
  assert.equal(lines.length, 1);
  assert.match(lines[0] ?? "", /view failed; answering EIO/);
  assert.equal(render(7, 1, 0, 0, KEY), -constants.errno.EIO, "unknown view index");
});

test("the source renders for the identity the binding resolved; without one the open fails", () => {
  const { logger } = capturingLogger();
  const render = renderWithLogOnce(["proc/meminfo"], (_path, caller) => JSON.stringify(caller), logger);
  assert.deepEqual(JSON.parse(String(render(0, 42, 0, 0, KEY))), {
    pid: 42,
    pidNamespace: "pid:[4026531836]",
    procCgroup: "0::/docker/abc\n",
  });
  assert.equal(render(0, 42, 0, 0, ""), -constants.errno.EIO);
});

test("mountinfo: mount point and fs type, octal escapes undone", () => {
  const text =
    "42 27 0:39 / /var/lib/box\\040scope ro,nosuid - fuse.boxscope boxscope ro,allow_other\n" +
    "22 1 0:21 / /proc rw - proc proc rw\n";
  assert.deepEqual(parseMountinfo(text), [
    { mountPoint: "/var/lib/box scope", fsType: "fuse.boxscope", dev: "0:39", root: "/" },
    { mountPoint: "/proc", fsType: "proc", dev: "0:21", root: "/" },
  ]);
});

test("stale binds: boxscope mounts of another (dead) connection, counted per mount point", () => {
  const text = [
    "900 800 0:77 /proc/meminfo /proc/meminfo ro - fuse.boxscope boxscope ro",
    "901 800 0:77 /proc/stat /proc/stat ro - fuse.boxscope boxscope ro",
    "902 900 0:78 /proc/meminfo /proc/meminfo ro - fuse.boxscope boxscope ro",
    "903 800 0:90 /proc/uptime /proc/uptime ro - fuse.boxscope boxscope ro",
    "904 800 0:21 / /proc rw - proc proc rw",
  ].join("\n");
  assert.deepEqual(staleBinds(text, new Set(["0:77", "0:78"])), [
    { mountPoint: "/proc/meminfo", root: "/proc/meminfo", count: 2 },
    { mountPoint: "/proc/stat", root: "/proc/stat", count: 1 },
  ]);
});
