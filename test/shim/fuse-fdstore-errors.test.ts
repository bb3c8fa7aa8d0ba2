import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { closeSync, fstatSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { FDSTORE_NAME } from "../../shim/fuse/fdstore.js";
import { loadFuseBinding } from "../../shim/native/binding.js";
import { VIEW_PATHS } from "../../shim/render.js";
import { listenNotifySocket } from "../helpers/notify-socket.js";
import { hasCommand, isRoot, requirePrereq } from "../helpers/prereq.js";
import { hasDevFuse, mountedFsType, startDaemon } from "./fuse-daemon.js";

/** What shim/native/src/fdstore.c writes before the state: magic, version, the mountpoint, the state's length. */
function storedState(mountpoint: string, state: Buffer, version = 1): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt32LE(0x5346584e, 0);
  head.writeUInt32LE(version, 4);
  head.writeUInt32LE(Buffer.byteLength(mountpoint), 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(state.length));
  return Buffer.concat([head, Buffer.from(mountpoint), len, state]);
}

const isClosed = (fd: number): boolean => {
  try {
    fstatSync(fd);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EBADF";
  }
};

test("takeStored: fds that are not a connection of this mountpoint and its state are refused with a reason, closed, and dropped from the store", async (t) => {
  if (!requirePrereq(t, isRoot() && hasDevFuse(), "needs root and /dev/fuse")) return;
  if (!requirePrereq(t, hasCommand("python3"), "needs python3 (the notification socket)")) return;
  const dir = mkdtempSync(join(tmpdir(), "boxscope-fdstore-"));
  const listener = await listenNotifySocket(join(dir, "notify"));
  t.after(() => {
    listener.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const binding = loadFuseBinding();
  const mnt = join(dir, "mnt");
  const options = { mountpoint: mnt, files: VIEW_PATHS, cacheTtlMs: 0, maxThreads: 1 };
  const file = (name: string, bytes: Buffer): number => {
    writeFileSync(join(dir, name), bytes);
    return openSync(join(dir, name), "r");
  };
  const cases: { what: string; fds: () => number[]; reason: RegExp }[] = [
    {
      what: "no /dev/fuse fd",
      fds: () => [openSync("/dev/null", "r"), file("a", storedState(mnt, Buffer.alloc(8)))],
      reason: /passed 2 fd\(s\) named boxscope-shim, not one \/dev\/fuse fd and one state/,
    },
    {
      what: "a state that is not boxscope's",
      fds: () => [openSync("/dev/fuse", "r+"), file("b", Buffer.from("not a state"))],
      reason: /not boxscope's or is truncated/,
    },
    {
      what: "a truncated state",
      fds: () => [openSync("/dev/fuse", "r+"), file("c", storedState(mnt, Buffer.alloc(64)).subarray(0, 40))],
      reason: /not boxscope's or is truncated/,
    },
    {
      what: "the connection of another mountpoint",
      fds: () => [openSync("/dev/fuse", "r+"), file("d", storedState("/elsewhere", Buffer.alloc(8)))],
      reason: new RegExp(`is the mount at /elsewhere, not ${mnt}`),
    },
    {
      what: "another header format",
      fds: () => [file("e", storedState(mnt, Buffer.alloc(8), 7)), openSync("/dev/fuse", "r+")],
      reason: /format 7, this daemon reads format 1/,
    },
    {
      what: "a state format this daemon does not read",
      fds: () => [openSync("/dev/fuse", "r+"), file("f", storedState(mnt, Buffer.alloc(8, 0xff)))],
      reason: /state format 4294967295/,
    },
  ];
  for (const [i, c] of cases.entries()) {
    const fds = c.fds();
    const r = binding.takeStored(
      options,
      () => -5,
      () => {},
      fds,
      listener.path,
    );
    assert.equal(r.handle, undefined, c.what);
    assert.match(r.handle === undefined ? r.fallback : "", c.reason, c.what);
    for (const fd of fds) assert.ok(isClosed(fd), `${c.what}: fd ${fd} closed`);
    await listener.until(
      (ms) => ms.filter((m) => m.message === `FDSTOREREMOVE=1\nFDNAME=${FDSTORE_NAME}`).length === i + 1,
    );
  }
  assert.equal(mountedFsType(mnt), undefined, "nothing was mounted");
});

test("shim mount under a notification socket with FDSTORE: SIGTERM leaves /dev/fuse and the state with the manager and exits without unmounting; where the manager cannot be reached it unmounts", async (t) => {
  if (!requirePrereq(t, isRoot() && hasDevFuse(), "needs root and /dev/fuse")) return;
  if (!requirePrereq(t, hasCommand("python3"), "needs python3 (the notification socket)")) return;
  const dir = mkdtempSync(join(tmpdir(), "boxscope-fdstore-"));
  const listener = await listenNotifySocket(join(dir, "notify"));
  const mnt = join(dir, "mnt");
  t.after(() => {
    listener.close();
    spawnSync("umount", ["-l", mnt]);
    rmSync(dir, { recursive: true, force: true });
  });
  const socketOff = ["--handover-socket", "off"];
  const env = { ...process.env, NOTIFY_SOCKET: listener.path, FDSTORE: "2" };
  const stored = await startDaemon(mnt, socketOff, env);
  const fd = openSync(join(mnt, "proc/meminfo"), "r");
  closeSync(fd);
  assert.deepEqual(await stored.stop("SIGTERM"), { code: 0, signal: null }, stored.log());
  assert.match(stored.log(), /left the live mount in systemd's fd store/);
  const messages = listener.messages.map((m) => `${m.message.replaceAll("\n", " ")} [${m.fds} fds]`);
  assert.deepEqual(messages, [
    `FDSTOREREMOVE=1 FDNAME=${FDSTORE_NAME} [0 fds]`,
    `FDSTORE=1 FDNAME=${FDSTORE_NAME} [2 fds]`,
    "BARRIER=1 [1 fds]",
  ]);
  // The stand-in manager closed what it was given: that ended the connection, as a stop would.
  spawnSync("umount", ["-l", mnt]);

  const unreachable = { ...env, NOTIFY_SOCKET: join(dir, "nobody-listens") };
  const unmounted = await startDaemon(mnt, socketOff, unreachable);
  assert.deepEqual(await unmounted.stop("SIGTERM"), { code: 0, signal: null }, unmounted.log());
  assert.match(unmounted.log(), /could not leave the live mount with systemd; unmounting/);
  assert.match(unmounted.log(), /"msg":"unmounted"/);
  assert.equal(mountedFsType(mnt), undefined);
});
