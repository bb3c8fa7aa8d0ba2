import assert from "node:assert/strict";
import { test } from "node:test";
import { FDSTORE_NAME, fdStoreOf } from "./fdstore.js";

test("fdStoreOf: no NOTIFY_SOCKET, no store; the LISTEN_ variables are removed all the same", () => {
  const env: NodeJS.ProcessEnv = { LISTEN_PID: "7", LISTEN_FDS: "2", LISTEN_FDNAMES: `${FDSTORE_NAME}:x` };
  assert.equal(fdStoreOf(env, 7), undefined);
  assert.deepEqual(env, {});
});

test("fdStoreOf: the fds named boxscope-shim, for this pid only; storing needs FDSTORE > 0", () => {
  const env = (over: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({
    NOTIFY_SOCKET: "/run/systemd/notify",
    LISTEN_PID: "7",
    LISTEN_FDS: "3",
    LISTEN_FDNAMES: `${FDSTORE_NAME}:other:${FDSTORE_NAME}`,
    ...over,
  });
  assert.deepEqual(fdStoreOf(env({ FDSTORE: "2" }), 7), {
    socket: "/run/systemd/notify",
    storeAtStop: true,
    passed: [3, 5],
  });
  assert.deepEqual(fdStoreOf(env({}), 8), { socket: "/run/systemd/notify", storeAtStop: false, passed: [] });
  assert.deepEqual(fdStoreOf(env({ FDSTORE: "0", LISTEN_FDS: "x" }), 7)?.storeAtStop, false);
  assert.deepEqual(fdStoreOf(env({ FDSTORE: "nope" }), 7)?.passed, [3, 5]);
  assert.deepEqual(fdStoreOf(env({ LISTEN_FDS: "x" }), 7)?.passed, []);
  assert.deepEqual(fdStoreOf(env({ LISTEN_FDNAMES: undefined }), 7)?.passed, []);
});
