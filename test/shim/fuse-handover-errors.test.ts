import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { constants, tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { repoRoot } from "../helpers/paths.js";
import { hasCommand, isRoot, requirePrereq } from "../helpers/prereq.js";
import { type DaemonUnderTest, hasDevFuse, mountedFsType, startDaemon } from "./fuse-daemon.js";

/** shim/native/src/handover.h */
const MAGIC = 0x4f485842;
const PROTOCOL = 1;

/** A stand-in for a running daemon on `path`: `onRequest` answers each connection. */
async function fakeDaemon(path: string, onRequest: (s: Socket) => void): Promise<Server> {
  const server = createServer(onRequest);
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return server;
}

/**
 * test/shim/handover-fake-old.c on `path`, listening; resolves with what it printed once it exits
 * (the new daemon's commit status).
 */
async function fakeOldWithFd(bin: string, mode: string, path: string): Promise<{ output: Promise<string> }> {
  const child = spawn(bin, [mode, path], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<string>((resolve) => child.once("exit", () => resolve(out)));
  for (let i = 0; i < 200 && !out.includes("listening"); i++) await new Promise((r) => setTimeout(r, 25));
  if (!out.includes("listening")) throw new Error(`handover-fake-old did not start: ${out}`);
  return { output: exited }; // wrapped: an async function returning the promise would wait for it
}

/** Sends a handover request as a new daemon would; resolves with the reply's status and message. */
function ask(
  path: string,
  protocol: number,
  mountpoint: string,
): Promise<{ status: number; message: string }> {
  return new Promise((resolve, reject) => {
    const s = createConnection(path);
    const chunks: Buffer[] = [];
    s.on("data", (d) => chunks.push(d));
    s.on("error", reject);
    s.on("end", () => {
      const b = Buffer.concat(chunks);
      if (b.length < 20 || b.readUInt32LE(0) !== MAGIC)
        return reject(new Error(`bad reply ${b.toString("hex")}`));
      const len = Number(b.readBigUInt64LE(12));
      resolve({ status: b.readInt32LE(8), message: b.subarray(20, 20 + len).toString() });
    });
    const mp = Buffer.from(mountpoint);
    const head = Buffer.alloc(12);
    head.writeUInt32LE(MAGIC, 0);
    head.writeUInt32LE(protocol, 4);
    head.writeUInt32LE(mp.length, 8);
    s.write(Buffer.concat([head, mp]));
  });
}

test("shim handover: a running daemon that goes away mid-way or refuses, and requests a daemon must refuse", {
  timeout: 180_000,
}, async (t) => {
  if (!requirePrereq(t, isRoot() && hasDevFuse(), "needs root and /dev/fuse")) return;
  if (!requirePrereq(t, hasCommand("cc"), "needs a C compiler (cc) for the fake daemon")) return;
  const dir = mkdtempSync(join(tmpdir(), "boxscope-handover-errors-"));
  const mnt = join(dir, "mnt");
  const other = join(dir, "other");
  const sock = join(dir, "shim.sock");
  const daemons: DaemonUnderTest[] = [];
  const servers: Server[] = [];
  t.after(async () => {
    for (const s of servers) s.close();
    for (const d of daemons) await d.stop("SIGTERM");
    spawnSync("umount", ["-l", mnt]);
    spawnSync("umount", ["-l", other]);
    spawnSync("umount", ["-l", join(dir, "third")]);
    rmSync(dir, { recursive: true, force: true });
  });

  // 1. The running daemon goes away mid-handover (closes the connection before its reply): the new
  //    daemon mounts as it would without one, and listens on the socket in its place.
  servers.push(await fakeDaemon(sock, (s) => s.destroy()));
  const first = await startDaemon(mnt, ["--handover-socket", sock]);
  daemons.push(first);
  assert.match(first.log(), /handover failed; mounting anew/);
  assert.match(first.log(), /"tookOver":false/);
  assert.equal(mountedFsType(mnt), "fuse.boxscope");

  // 2. A running daemon refuses requests of another protocol version and for another mountpoint,
  //    saying why, and serves on.
  const wrongVersion = await ask(sock, PROTOCOL + 1, mnt);
  assert.equal(wrongVersion.status, constants.errno.EPROTO);
  assert.match(wrongVersion.message, /handover protocol 1, the new one 2/);
  const wrongMount = await ask(sock, PROTOCOL, other);
  assert.equal(wrongMount.status, constants.errno.EINVAL);
  assert.match(wrongMount.message, /serves .*mnt, not .*other/);
  assert.match(readFileSync(join(mnt, "proc/meminfo"), "utf8"), /^MemTotal:/);

  // 3. A new daemon meeting a running one of another protocol version stops with a clear error
  //    (the running one serves on; it must be stopped first).
  const oldSock = join(dir, "old.sock");
  servers.push(
    await fakeDaemon(oldSock, (s) => {
      s.once("data", () => {
        const reply = Buffer.alloc(20);
        reply.writeUInt32LE(MAGIC, 0);
        reply.writeUInt32LE(PROTOCOL + 98, 4);
        s.end(reply);
      });
    }),
  );
  await assert.rejects(
    startDaemon(other, ["--handover-socket", oldSock]),
    /did not hand it over: the running daemon speaks handover protocol 99, this one 1/,
  );
  assert.equal(mountedFsType(other), undefined);

  // 4. A running daemon that sends a state of a format this one cannot read is told so (it then
  //    serves on), and the new daemon stops with a clear error. One that sends the fd and a state
  //    but goes away before it acknowledged the commit (it might serve on): the new daemon drops
  //    what it received, never having read the connection, and mounts as usual.
  const fakeBin = join(dir, "handover-fake-old");
  const cc = spawnSync("cc", ["-O2", "-o", fakeBin, join(repoRoot, "test/shim/handover-fake-old.c")], {
    encoding: "utf8",
  });
  assert.equal(cc.status, 0, `cc handover-fake-old.c: ${cc.stderr}`);
  const badSock = join(dir, "bad.sock");
  const badFake = await fakeOldWithFd(fakeBin, "bad-version", badSock);
  await assert.rejects(
    startDaemon(other, ["--handover-socket", badSock]),
    /the running daemon hands over state format 99, this daemon reads format 1/,
  );
  assert.equal(await badFake.output, `listening\ncommit ${constants.errno.EPROTO}\n`);
  assert.equal(mountedFsType(other), undefined);
  const third = join(dir, "third");
  const noAckSock = join(dir, "noack.sock");
  const noAckFake = await fakeOldWithFd(fakeBin, "no-ack", noAckSock);
  const fallback = await startDaemon(third, ["--handover-socket", noAckSock]);
  daemons.push(fallback);
  assert.equal(await noAckFake.output, "listening\ncommit 0\n");
  assert.match(fallback.log(), /did not acknowledge the handover[^\n]*handover failed; mounting anew/);
  assert.match(fallback.log(), /"tookOver":false/);
  assert.equal(mountedFsType(third), "fuse.boxscope");
  assert.match(readFileSync(join(third, "proc/meminfo"), "utf8"), /^MemTotal:/);

  // 5. A clean stop removes the daemon's own socket: the next start finds nobody and mounts.
  assert.deepEqual(await first.stop("SIGTERM"), { code: 0, signal: null });
  assert.throws(() => readFileSync(sock), { code: "ENOENT" });
  const second = await startDaemon(mnt, ["--handover-socket", sock]);
  daemons.push(second);
  assert.doesNotMatch(second.log(), /handover failed|took the live mount over/);
});
