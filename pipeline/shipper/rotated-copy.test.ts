import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fingerprintOf } from "./fingerprint.js";
import { copyCandidates, type DirEntry, findRotatedCopy, headIs, type WantedCopy } from "./rotated-copy.js";

const head = fingerprintOf(Buffer.from("first line of generation one\nsecond\n"));
const wanted: WantedCopy = { dev: 1, ino: 10, fpHash: head.hash, fpLength: head.length, from: 500 };
const entry = (name: string, over: Partial<DirEntry> = {}): DirEntry => ({
  name,
  dev: 1,
  ino: 100 + name.length,
  size: 800,
  mtimeMs: 1000,
  isFile: true,
  ...over,
});
const none = () => false;

test("copy candidates: regular files long enough, not the truncated inode, not compressed, newest first", () => {
  const entries = [
    entry("app.log", { ino: 10, size: 0 }), // the truncated file itself
    entry("app.log.1", { ino: 11, mtimeMs: 1000 }),
    entry("app.log.2", { ino: 12, mtimeMs: 3000 }),
    entry("app.log-20261125", { ino: 13, mtimeMs: 2000 }),
    entry("app.log.3.gz", { ino: 14, mtimeMs: 4000 }),
    entry("app.log.4.zst", { ino: 15, mtimeMs: 4000 }),
    entry("short.log", { ino: 16, size: 499 }), // shorter than the unread position
    entry("old", { ino: 17, isFile: false }),
    entry("tracked.log", { ino: 18 }),
  ];
  const got = copyCandidates(entries, wanted, (dev, ino) => dev === 1 && ino === 18).map((e) => e.name);
  assert.deepEqual(got, ["app.log.2", "app.log-20261125", "app.log.1"]);
});

test("copy candidates: a copy exactly as long as the position qualifies; the same inode on another device does too", () => {
  const got = copyCandidates(
    [entry("app.log.1", { ino: 11, size: 500 }), entry("elsewhere", { dev: 2, ino: 10 })],
    wanted,
    none,
  ).map((e) => e.name);
  assert.deepEqual(got.sort(), ["app.log.1", "elsewhere"]);
  // A copy shorter than the fingerprint cannot carry it.
  assert.deepEqual(copyCandidates([entry("x", { size: 3 })], { ...wanted, from: 0 }, none), []);
});

test("headIs compares the saved fingerprint only (appended bytes do not matter)", () => {
  assert.equal(headIs(Buffer.from("first line of generation one\nsomething else"), wanted), true);
  assert.equal(headIs(Buffer.from("first line of generation two\nsecond\n"), wanted), false);
  assert.equal(headIs(Buffer.from("first line"), wanted), false);
});

test("findRotatedCopy finds the copytruncate copy by content, whatever its name", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "boxscope-test-rotated-copy-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "app.log");
  let text = "first line of generation one\n";
  for (let i = 0; i < 40; i++) text += `line ${i}\n`;
  writeFileSync(file, text);
  // An older rename-rotated file (another head) and a compressed copy with the right head.
  writeFileSync(join(dir, "app.log.1"), `an older generation\n${"x\n".repeat(400)}`);
  writeFileSync(join(dir, "app.log.3.gz"), text);
  mkdirSync(join(dir, "sub"));
  copyFileSync(file, join(dir, "app.log-20261125"));
  truncateSync(file, 0);
  const st = statSync(file);
  const fp = fingerprintOf(Buffer.from(text));
  const want = { dev: st.dev, ino: st.ino, fpHash: fp.hash, fpLength: fp.length, from: 100 };
  const found = await findRotatedCopy(dir, want, none);
  assert.equal(found?.path, join(dir, "app.log-20261125"));
  assert.equal(found?.size, Buffer.byteLength(text));
  // Not when the copy is shorter than the unread position, nor when it is already being read.
  assert.equal(await findRotatedCopy(dir, { ...want, from: text.length + 1 }, none), undefined);
  const copyIno = statSync(join(dir, "app.log-20261125")).ino;
  assert.equal(await findRotatedCopy(dir, want, (_d, ino) => ino === copyIno), undefined);
  // A directory that is gone: nothing, no error.
  assert.equal(await findRotatedCopy(join(dir, "missing"), want, none), undefined);
});
