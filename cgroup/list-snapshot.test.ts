import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import {
  ID_A,
  ID_A2,
  ID_B,
  ID_C,
  ID_D,
  PATH_A,
  PATH_C,
  POD_UID_A,
  POD_UID_C,
  V1_ROOT,
  v1Mounts,
  v2Mounts,
} from "../test/cgroup/fixtures.js";
import { handleForPath } from "./handle.js";
import { listContainerCgroups } from "./list.js";
import { readSnapshot } from "./snapshot.js";

test("listContainerCgroups v1: walks the memory hierarchy, stops at containers, skips non-containers", () => {
  const list = listContainerCgroups(v1Mounts());
  const byId = new Map(list.map((c) => [c.identity.id, c]));
  assert.deepEqual([...byId.keys()].sort(), [ID_A2, ID_A, ID_B].sort());
  assert.equal(byId.get(ID_A)?.path, PATH_A);
  assert.equal(byId.get(ID_A)?.identity.podUid, POD_UID_A);
  assert.equal(byId.get(ID_B)?.identity.runtime, "docker");
  assert.equal(byId.get(ID_A)?.handle.dirs.pids?.dir, `${V1_ROOT}/sys/fs/cgroup/pids${PATH_A}`);
});

test("listContainerCgroups v2: unified hierarchy, systemd names", () => {
  const list = listContainerCgroups(v2Mounts());
  assert.deepEqual(list.map((c) => c.identity.id).sort(), [ID_C, ID_D].sort());
  const c = list.find((x) => x.identity.id === ID_C);
  assert.equal(c?.path, PATH_C);
  assert.deepEqual(c?.identity, {
    id: ID_C,
    runtime: "containerd",
    podUid: POD_UID_C,
    qosClass: "burstable",
  });
});

test("listContainerCgroups: depth bound, missing root, 1,000 containers", () => {
  const dir = mkdtempSync(join(tmpdir(), "boxscope-test-cgroup-list-"));
  try {
    for (let i = 0; i < 1000; i++)
      mkdirSync(join(dir, "docker", i.toString(16).padStart(64, "0")), { recursive: true });
    mkdirSync(join(dir, "a/b/c/d/docker", "f".repeat(64)), { recursive: true });
    const mounts = {
      v1: new Map([["memory", dir]]),
      unified: undefined,
      unifiedControllers: new Set<string>(),
    };
    assert.equal(listContainerCgroups(mounts).length, 1001);
    assert.equal(
      listContainerCgroups(mounts, { maxDepth: 3 }).length,
      1000,
      "the 6-deep container is beyond depth 3",
    );
    const gone = {
      v1: new Map([["memory", join(dir, "nope")]]),
      unified: undefined,
      unifiedControllers: new Set<string>(),
    };
    assert.deepEqual(listContainerCgroups(gone), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("readSnapshot: composes all readers; errors collected, never thrown", () => {
  const s = readSnapshot(handleForPath(v1Mounts(), PATH_A), { sysRoot: `${V1_ROOT}/sys` });
  assert.deepEqual(s.errors, []);
  assert.equal(s.memory?.limitBytes, 256 * 1024 * 1024);
  assert.equal(s.cpu?.quotaCpus, 0.5);
  assert.equal(s.pids?.max, 100);
  assert.equal(s.io?.size, 2);
  assert.ok(s.pressure.cpu);
  const gone = readSnapshot(handleForPath(v2Mounts(), "/vanished.scope"));
  assert.equal(gone.memory, undefined);
  assert.equal(gone.pids, undefined);
  assert.equal(gone.io, undefined);
  assert.ok(gone.errors.length >= 3);
});
