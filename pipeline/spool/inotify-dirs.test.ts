import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { InotifyDirs } from "./inotify-dirs.js";

function tree(t: TestContext): string {
  const root = mkdtempSync(join(tmpdir(), "boxscope-test-logwatcher-inotify-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  return root;
}

function watcher(t: TestContext, root: string, skip: (d: string) => boolean = () => false) {
  const entries: string[] = [];
  const errors: unknown[] = [];
  const dirs = new InotifyDirs(
    root,
    {
      entry: (rel) => entries.push(rel),
      unwatchable: (d, code) => errors.push(`${d}: ${code}`),
      error: (_r, e) => errors.push(e),
    },
    skip,
  );
  t.after(() => dirs.close());
  return { dirs, entries, errors };
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await sleep(10);
}

test("watches every real directory at any depth, never a symlinked one; start-up announces nothing", (t) => {
  const root = tree(t);
  mkdirSync(join(root, "c1/a/b/c"), { recursive: true });
  writeFileSync(join(root, "c1/a/x.log"), "x\n");
  mkdirSync(join(root, "outside"));
  symlinkSync(join(root, "outside"), join(root, "c1/link"));
  const { dirs, entries, errors } = watcher(t, root, (d) => d === "outside");
  dirs.watchTree("", undefined);
  assert.deepEqual([...dirs.watchedDirs()].sort(), ["", "c1", "c1/a", "c1/a/b", "c1/a/b/c"]);
  assert.deepEqual(entries, []);
  assert.deepEqual(errors, []);
});

test("a new directory tree: watched, and the files already in it announced", (t) => {
  const root = tree(t);
  const { dirs, entries } = watcher(t, root);
  dirs.watchTree("", undefined);
  mkdirSync(join(root, "c2/app/logs"), { recursive: true });
  writeFileSync(join(root, "c2/app/logs/f.log"), "x\n");
  writeFileSync(join(root, "c2/top.log"), "x\n");
  dirs.watchTree("c2", 1);
  assert.ok(dirs.isWatched("c2/app/logs"));
  assert.deepEqual([...entries].sort(), ["c2/app/logs/f.log", "c2/top.log"]);
});

test("events name the entry; forget drops a directory and everything below", async (t) => {
  const root = tree(t);
  mkdirSync(join(root, "c1/app"), { recursive: true });
  const { dirs, entries } = watcher(t, root);
  dirs.watchTree("", undefined);
  writeFileSync(join(root, "c1/app/new.log"), "x\n");
  await until(() => entries.includes("c1/app/new.log"));
  assert.ok(entries.includes("c1/app/new.log"), JSON.stringify(entries));
  rmSync(join(root, "c1"), { recursive: true });
  await until(() => entries.includes("c1"));
  assert.ok(entries.includes("c1"), "the parent's watch names the removed directory");
  assert.equal(dirs.forget("c1"), true);
  assert.deepEqual([...dirs.watchedDirs()], [""]);
  assert.equal(dirs.forget("c1"), false);
});
