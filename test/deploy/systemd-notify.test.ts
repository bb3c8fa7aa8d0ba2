import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { BoxscopeError } from "../../common/errors.js";
import { silentLogger } from "../../common/logger.js";
import { notifyArgs, notifySystemd } from "../../common/systemd.js";
import { listenNotifySocket } from "../helpers/notify-socket.js";
import { hasCommand, requirePrereq } from "../helpers/prereq.js";

// common/systemd.ts runs the real systemd-notify against a real unix datagram socket standing in
// for the manager's (test/helpers/notify-socket.ts), barrier round trip included.
const dir = mkdtempSync(join(tmpdir(), "boxscope-notify-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const logger = silentLogger();

const prerequisites = (): boolean => hasCommand("systemd-notify") && hasCommand("python3");
const why = "needs systemd-notify (Debian package systemd) and python3";

test("READY=1 and STATUS reach the notification socket, and the barrier is acknowledged", async (t) => {
  if (!requirePrereq(t, prerequisites(), why)) return;
  const listener = await listenNotifySocket(join(dir, "ready.sock"));
  t.after(() => listener.close());
  await notifySystemd({ ready: true, status: "shim, exporter, logwatcher started" }, logger, {
    env: { ...process.env, NOTIFY_SOCKET: listener.path },
  });
  // systemd-notify only returns after the barrier's descriptor was closed, i.e. after the
  // listener had read the message; its report of the barrier is the last thing it prints.
  await listener.until((ms) => ms.some((m) => m.message === "BARRIER=1"));
  assert.deepEqual(listener.assignments().sort(), ["READY=1", "STATUS=shim, exporter, logwatcher started"]);
  assert.equal(listener.messages.find((m) => m.message === "BARRIER=1")?.fds, 1);
});

test("STOPPING=1 is sent as an assignment, and a multi-line status stays one line", async (t) => {
  if (!requirePrereq(t, prerequisites(), why)) return;
  const listener = await listenNotifySocket(join(dir, "stopping.sock"));
  t.after(() => listener.close());
  await notifySystemd({ stopping: true, status: "stopping:\nSIGTERM" }, logger, {
    env: { ...process.env, NOTIFY_SOCKET: listener.path },
  });
  await listener.until((ms) => ms.some((m) => m.message === "BARRIER=1"));
  assert.deepEqual(listener.assignments().sort(), ["STATUS=stopping: SIGTERM", "STOPPING=1"]);
});

test("without NOTIFY_SOCKET nothing is run, even with no systemd-notify on PATH", async () => {
  await notifySystemd({ ready: true }, logger, { env: { PATH: join(dir, "no-such-dir") } });
  await notifySystemd({ ready: true }, logger, {
    env: { PATH: join(dir, "no-such-dir"), NOTIFY_SOCKET: "" },
  });
});

test("a NOTIFY_SOCKET that points at nothing is one clear error naming the socket", async (t) => {
  if (!requirePrereq(t, hasCommand("systemd-notify"), why)) return;
  const missing = join(dir, "nobody-listens.sock");
  await assert.rejects(
    notifySystemd({ ready: true }, logger, { env: { ...process.env, NOTIFY_SOCKET: missing } }),
    (e: unknown) => {
      assert.ok(e instanceof BoxscopeError, String(e));
      assert.match(e.message, new RegExp(`^cannot notify systemd at NOTIFY_SOCKET=${missing}: `));
      assert.match(e.message, /systemd-notify --ready` failed \(exit 1\): .*No such file or directory/);
      assert.doesNotMatch(e.message, /\n/);
      return true;
    },
  );
});

test("a manager that never processes the message (barrier unanswered) is an error, not a hang", async (t) => {
  if (!requirePrereq(t, prerequisites(), why)) return;
  const listener = await listenNotifySocket(join(dir, "deaf.sock"), { holdBarrierFds: true });
  t.after(() => listener.close());
  await assert.rejects(
    notifySystemd({ ready: true }, logger, { env: { ...process.env, NOTIFY_SOCKET: listener.path } }),
    /^BoxscopeError: cannot notify systemd at .*`systemd-notify --ready` failed \(exit 1\)/,
  );
});

test("a missing systemd-notify is one clear error saying so", async () => {
  await assert.rejects(
    notifySystemd({ ready: true }, logger, {
      env: { PATH: join(dir, "no-such-dir"), NOTIFY_SOCKET: join(dir, "any.sock") },
    }),
    (e: unknown) => {
      assert.ok(e instanceof BoxscopeError, String(e));
      assert.equal(
        e.message,
        "cannot notify systemd: systemd-notify is not installed or not on PATH (it comes with systemd)",
      );
      return true;
    },
  );
});

test("notifyArgs: --ready, STOPPING=1, --status in that order; nothing for an empty state", () => {
  assert.deepEqual(notifyArgs({ ready: true, status: "up" }), ["--ready", "--status=up"]);
  assert.deepEqual(notifyArgs({ stopping: true }), ["STOPPING=1"]);
  assert.deepEqual(notifyArgs({}), []);
});
