import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import type { CgroupMounts } from "../cgroup/types.js";
import { ContainerLister } from "./container-list.js";

const hex = () => randomBytes(32).toString("hex");

/** A temporary v1 memory hierarchy, removed after the test. */
function fixture(t: TestContext): { root: string; mounts: CgroupMounts } {
  const root = mkdtempSync(join(tmpdir(), "boxscope-exporter-list-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const mounts: CgroupMounts = {
    v1: new Map([["memory", root]]),
    unified: undefined,
    unifiedControllers: new Set(),
  };
  return { root, mounts };
}

/** A lister with a 10 s full walk, and the sorted ids its list() returns at a given time. */
function listerOf(mounts: CgroupMounts): { lister: ContainerLister; ids: (now: number) => string[] } {
  const lister = new ContainerLister(10_000);
  const ids = (now: number) =>
    lister
      .list(mounts, now)
      .map((x) => x.identity.id)
      .sort();
  return { lister, ids };
}

test("between full walks, known parents are re-read; new parents wait for the next full walk", (t) => {
  const { root, mounts } = fixture(t);
  const [a, b, c] = [hex(), hex(), hex()];
  mkdirSync(join(root, "docker", a), { recursive: true });
  writeFileSync(join(root, "docker", "memory.stat"), "");
  mkdirSync(join(root, "system.slice", "sshd.service"), { recursive: true });
  const { ids } = listerOf(mounts);

  assert.deepEqual(ids(0), [a]); // full walk
  mkdirSync(join(root, "docker", b));
  mkdirSync(join(root, "other", c), { recursive: true });
  assert.deepEqual(ids(1000), [a, b].sort(), "new sibling under a known parent: found at once");
  rmSync(join(root, "docker", a), { recursive: true });
  assert.deepEqual(ids(2000), [b], "removed container: gone at once");
  assert.deepEqual(ids(10_000), [b, c].sort(), "new parent: found by the next full walk");
});

test("a background full walk finds new parents before list() would walk itself", async (t) => {
  const { root, mounts } = fixture(t);
  const [a, b] = [hex(), hex()];
  mkdirSync(join(root, "docker", a), { recursive: true });
  mkdirSync(join(root, "system.slice", "sshd.service"), { recursive: true });
  const { lister, ids } = listerOf(mounts);
  assert.deepEqual(ids(0), [a]);
  mkdirSync(join(root, "kubepods", "pod1", b), { recursive: true });
  assert.deepEqual(ids(1000), [a], "new parent: not seen by the cheap re-read");
  await lister.walkInBackground(mounts, 9000);
  assert.deepEqual(ids(9500), [a, b].sort(), "found by the background walk");
  rmSync(join(root, "docker", a), { recursive: true });
  assert.deepEqual(ids(18_000), [b], "re-reads after the background walk: removal seen at once");
});
