import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import fc from "fast-check";
import { JournalOutputFile, journalFilePath, lastCursorInFile, lastWrittenCursor } from "./output-file.js";

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), "boxscope-host-journal-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const line = (cursor: string, pad = 0): string =>
  `${JSON.stringify({ __CURSOR: cursor, MESSAGE: "m".repeat(pad) })}\n`;

test("the last complete line's cursor; a cut last line and junk lines are passed over", async (t) => {
  const dir = tempDir(t);
  const path = join(dir, "f");
  assert.equal(await lastCursorInFile(path), undefined, "missing file");
  writeFileSync(path, "");
  assert.equal(await lastCursorInFile(path), undefined, "empty file");
  writeFileSync(path, `${line("a")}${line("b")}{"__CURSOR":"c","MESS`);
  assert.equal(await lastCursorInFile(path), "b");
  writeFileSync(path, `${line("a")}not json\n\n{"x":1}\n`);
  assert.equal(await lastCursorInFile(path), "a");
  writeFileSync(path, "no newline at all");
  assert.equal(await lastCursorInFile(path), undefined);
  writeFileSync(path, "\n");
  assert.equal(await lastCursorInFile(path), undefined);
});

test("property: lines of any length across the 64 KiB read blocks: the last cursor is found", async (t) => {
  const dir = tempDir(t);
  const path = join(dir, "f");
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 90_000 })), { maxLength: 6 }),
      fc.string({ maxLength: 20 }).map((s) => s.replaceAll("\n", "")),
      async (lines, tail) => {
        let text = "";
        let expected: string | undefined;
        lines.forEach(([hasCursor, pad], i) => {
          text += hasCursor ? line(`c${i}`, pad) : `${"j".repeat(pad)}\n`;
          if (hasCursor) expected = `c${i}`;
        });
        writeFileSync(path, text + tail);
        assert.equal(await lastCursorInFile(path), expected);
      },
    ),
    { numRuns: 40 },
  );
});

test("open completes a cut last line; append rotates by rename at line boundaries, keepFiles copies kept", async (t) => {
  const dir = tempDir(t);
  writeFileSync(journalFilePath(dir), `${line("a")}{"cut`);
  const out = await JournalOutputFile.open(dir, 130, 2);
  assert.equal(readFileSync(journalFilePath(dir), "utf8"), `${line("a")}{"cut\n`);
  const rotations: number[] = [];
  for (let i = 0; i < 8; i++) rotations.push(await out.append([Buffer.from(line(`n${i}`, 30))]));
  // 36 bytes were there; each line is 61: a file holds two lines at most.
  assert.deepEqual(rotations, [0, 1, 0, 1, 0, 1, 0, 1]);
  assert.deepEqual(readdirSync(dir).sort(), ["journal.log", "journal.log.1", "journal.log.2"]);
  assert.equal(readFileSync(journalFilePath(dir), "utf8"), line("n7", 30));
  assert.equal(readFileSync(journalFilePath(dir, 1), "utf8"), line("n5", 30) + line("n6", 30));
  assert.equal(readFileSync(journalFilePath(dir, 2), "utf8"), line("n3", 30) + line("n4", 30));
  // Several lines at once are split across files the same way: x joins n7, y starts a file.
  assert.equal(await out.append(["x", "y", "z"].map((c) => Buffer.from(line(c, 30)))), 1);
  await out.close();
  assert.equal(readFileSync(journalFilePath(dir), "utf8"), line("y", 30) + line("z", 30));
  assert.equal(readFileSync(journalFilePath(dir, 1), "utf8"), line("n7", 30) + line("x", 30));
  assert.equal(readFileSync(journalFilePath(dir, 2), "utf8"), line("n5", 30) + line("n6", 30));
  assert.equal(await lastWrittenCursor(dir, 2), "z");
  assert.equal(statSync(journalFilePath(dir)).mode & 0o777, 0o640 & ~process.umask());
});

test("lastWrittenCursor: a just-rotated (empty or missing) journal.log resumes from the newest copy", async (t) => {
  const dir = tempDir(t);
  assert.equal(await lastWrittenCursor(dir, 2), undefined);
  writeFileSync(journalFilePath(dir, 2), line("old"));
  assert.equal(await lastWrittenCursor(dir, 2), "old");
  writeFileSync(journalFilePath(dir, 1), line("newer"));
  assert.equal(await lastWrittenCursor(dir, 2), "newer");
  writeFileSync(journalFilePath(dir), "");
  assert.equal(await lastWrittenCursor(dir, 2), "newer");
  writeFileSync(journalFilePath(dir), line("newest"));
  assert.equal(await lastWrittenCursor(dir, 2), "newest");
});
