import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { EntryLines, shrinkEntry } from "./entry-lines.js";
import { JournalJsonDecoder } from "./journal-json.js";

const entry = (message: unknown, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ __CURSOR: "c", __REALTIME_TIMESTAMP: "1733600000000000", MESSAGE: message, ...extra });

test("lines within the bound pass through as they came, split across chunks anyhow", () => {
  const text = `${entry("a")}\n${entry("b")}\n${entry("c")}\n`;
  fc.assert(
    fc.property(fc.array(fc.nat({ max: text.length }), { maxLength: 6 }), (cuts) => {
      const at = [...new Set(cuts)].sort((a, b) => a - b);
      const lines = new EntryLines(1000, 2000);
      const out: Buffer[] = [];
      let from = 0;
      for (const to of [...at, text.length]) {
        out.push(...lines.take(Buffer.from(text.slice(from, to))));
        from = to;
      }
      assert.deepEqual(
        out.map((b) => b.toString()),
        [`${entry("a")}\n`, `${entry("b")}\n`, `${entry("c")}\n`],
      );
      assert.equal(lines.pendingBytes, 0);
    }),
  );
});

test("an unfinished line is held, never given out", () => {
  const lines = new EntryLines(1000, 2000);
  assert.deepEqual(lines.take(Buffer.from(`${entry("a")}\n{"MESS`)).length, 1);
  assert.equal(lines.pendingBytes, 6);
});

test("a line over maxLineBytes gets its MESSAGE cut to fit, and the decoder counts what was cut", () => {
  const message = `${"é".repeat(3000)}\n`;
  const lines = new EntryLines(1000, 100_000);
  const [line] = lines.take(Buffer.from(`${entry(message, { PRIORITY: "3" })}\n`));
  assert.ok(line !== undefined && line.length <= 1000 && line.length > 900, `${line?.length}`);
  assert.deepEqual(lines.stats, { shrunk: 1, uncut: 0, dropped: 0 });
  const record = new JournalJsonDecoder().push(line.subarray(0, -1));
  assert.equal(record.error, undefined);
  assert.equal(record.priority, 3);
  assert.ok("é".repeat(3000).startsWith(record.text));
  assert.equal(Buffer.byteLength(record.text) + (record.droppedBytes ?? 0), 6000);
  assert.equal(record.truncated, true);
});

test("a byte-array MESSAGE is cut as bytes and stays an array when what is kept is not UTF-8", () => {
  const bytes = [0xff, ...Buffer.from("x".repeat(2000))];
  const shrunk = shrinkEntry(Buffer.from(`${entry(bytes)}\n`), 600);
  assert.ok(shrunk !== undefined && shrunk.length <= 600);
  const parsed = JSON.parse(shrunk.toString()) as { MESSAGE: unknown; _BOXSCOPE_DROPPED_BYTES: string };
  assert.ok(Array.isArray(parsed.MESSAGE));
  assert.ok(parsed.MESSAGE.length > 100, `${parsed.MESSAGE.length} bytes kept: most of the room is used`);
  assert.equal(parsed.MESSAGE.length + Number(parsed._BOXSCOPE_DROPPED_BYTES), bytes.length);
});

test("property: a cut line always fits, decodes, and keeps a prefix of the message", () => {
  fc.assert(
    fc.property(
      fc.string({ unit: "binary", minLength: 1, maxLength: 400 }),
      fc.integer({ min: 150, max: 600 }),
      (message, max) => {
        const line = Buffer.from(`${entry(message)}\n`);
        const shrunk = shrinkEntry(line, max);
        if (shrunk === undefined) return;
        assert.ok(shrunk.length <= max);
        const record = new JournalJsonDecoder().push(shrunk.subarray(0, -1));
        assert.equal(record.error, undefined);
        const whole = message.endsWith("\n") ? message.slice(0, -1) : message;
        assert.ok(whole.startsWith(record.text));
        assert.equal(Buffer.byteLength(record.text) + (record.droppedBytes ?? 0), Buffer.byteLength(whole));
      },
    ),
    { numRuns: 300 },
  );
});

test("lines that cannot be cut are written whole; lines over maxEntryBytes are dropped as they stream", () => {
  const dropped: number[] = [];
  const lines = new EntryLines(100, 300, (bytes) => dropped.push(bytes));
  const noMessage = JSON.stringify({ __CURSOR: "c", OTHER: "y".repeat(200) });
  assert.deepEqual(
    lines.take(Buffer.from(`${noMessage}\n`)).map((b) => b.toString()),
    [`${noMessage}\n`],
  );
  const huge = `${entry("z".repeat(1000))}\n`;
  const out: Buffer[] = [];
  for (let i = 0; i < huge.length; i += 64) out.push(...lines.take(Buffer.from(huge.slice(i, i + 64))));
  out.push(...lines.take(Buffer.from(`${entry("after")}\n`)));
  assert.deepEqual(
    out.map((b) => b.toString()),
    [`${entry("after")}\n`],
  );
  assert.deepEqual(dropped, [huge.length]);
  assert.ok(lines.pendingBytes === 0);
  assert.deepEqual(lines.stats, { shrunk: 0, uncut: 1, dropped: 1 });
});
