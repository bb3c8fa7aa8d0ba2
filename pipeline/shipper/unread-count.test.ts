import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { appFileMeta } from "./file-meta.js";
import { fingerprintOf } from "./fingerprint.js";
import { type RecordSink, TrackedFile } from "./tracked-file.js";

/** What a truncation would take away unread (TrackedFile.unread / countAhead), on a real file. */

const limits = (multiline?: RegExp, readChunkBytes = 1 << 20) => ({
  kind: "app" as const,
  format: "plain" as const,
  maxLineBytes: 1 << 16,
  maxRecordBytes: 1 << 17,
  multilineFirstLine: multiline,
  multilineMaxLines: 500,
  readChunkBytes,
  partialFlushMs: 60_000,
});

const discard: RecordSink = { lineBytes: () => undefined, record: () => undefined, decoded: () => undefined };

async function opened(
  t: TestContext,
  content: string,
  l: ReturnType<typeof limits>,
): Promise<{ f: TrackedFile; buf: Buffer }> {
  const dir = mkdtempSync(join(tmpdir(), "boxscope-test-unread-"));
  const path = join(dir, "a.log");
  writeFileSync(path, content);
  const st = statSync(path);
  const f = new TrackedFile(st.dev, st.ino, path, appFileMeta("c1"), { ...l, logRoot: dir }, 0);
  t.after(async () => {
    await f.close();
    rmSync(dir, { recursive: true, force: true });
  });
  assert.ok(await f.reopen());
  f.startAt(0, fingerprintOf(Buffer.from(content.slice(0, 64))));
  f.size = st.size;
  return { f, buf: Buffer.alloc(1 << 20) };
}

test("lines past the read position are counted while paused, a cut last line included", async (t) => {
  // Read 10 bytes: "one\ntwo\nth" hands out two lines and keeps "th" as a partial line.
  const content = "one\ntwo\nthree\nfour\nfive";
  const { f, buf } = await opened(t, content, limits(undefined, 10));
  await f.readInto({ buf, now: 0, final: false, sink: discard });
  assert.equal(f.readPos, 10);
  // Not counted yet: the bytes are known by size only.
  assert.deepEqual(f.unread(content.length), { from: 8, countedEnd: 10, lines: 1, uncountedBytes: 13 });
  while (await f.countAhead(buf));
  // "three", "four" and the unterminated "five": 3 lines from byte 8 to the end, nothing uncounted.
  assert.deepEqual(f.unread(content.length), { from: 8, countedEnd: 23, lines: 3, uncountedBytes: 0 });
  assert.equal(f.uncountedBytes, 0);
});

test("a count goes stale once reading moves on", async (t) => {
  const content = "a\nb\nc\nd\n";
  const { f, buf } = await opened(t, content, limits(undefined, 4));
  await f.countAhead(buf);
  assert.equal(f.unread(8).lines, 2);
  await f.readInto({ buf, now: 0, final: false, sink: discard }); // "a\nb\n" read
  assert.deepEqual(f.unread(8), { from: 4, countedEnd: 4, lines: 0, uncountedBytes: 4 });
  while (await f.countAhead(buf));
  assert.deepEqual(f.unread(8), { from: 4, countedEnd: 8, lines: 2, uncountedBytes: 0 });
});

test("a multi-line record in progress counts each of its lines", async (t) => {
  // "E1\n  at x\n  at y\n" is one record still open (the next first line has not come).
  const content = "E1\n  at x\n  at y\nE2\n";
  const { f, buf } = await opened(t, content, limits(/^\S/, 17));
  await f.readInto({ buf, now: 0, final: false, sink: discard });
  assert.deepEqual(f.unread(content.length), { from: 0, countedEnd: 17, lines: 3, uncountedBytes: 3 });
  while (await f.countAhead(buf));
  assert.deepEqual(f.unread(content.length), { from: 0, countedEnd: 20, lines: 4, uncountedBytes: 0 });
});
