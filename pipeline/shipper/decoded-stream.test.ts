import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { containerdLines, dockerdLines } from "../../test/helpers/runtime-log-writers.js";
import type { DecodedRecord } from "./decoded-record.js";
import { type DecodedSpan, DecodedStream, ROTATED_FILE_WAIT_MS, type StreamFile } from "./decoded-stream.js";

/** A file as the stream sees it, fed line by line with its byte offsets. */
class FakeFile implements StreamFile {
  unacked = 0;
  orphanSince: number | undefined;
  readPos = 0;
  size = 0;
  changed = false;
  constructor(readonly name: string) {}

  /** Writes the lines and hands each to the stream, as TrackedFile's line splitter does. */
  feed(stream: DecodedStream<FakeFile>, lines: (string | Buffer)[], sink: Collect): void {
    for (const line of lines) {
      const bytes = Buffer.from(line);
      const offset = this.readPos;
      this.readPos += bytes.length + 1;
      this.size = this.readPos;
      stream.push(this, bytes, offset, this.readPos, sink);
    }
  }
}

class Collect {
  readonly out: { record: DecodedRecord; span: DecodedSpan<FakeFile> }[] = [];
  decoded(record: DecodedRecord, span: DecodedSpan<FakeFile>): void {
    this.out.push({ record, span });
  }
}

test("a line in pieces is one record; no file is acknowledged past a piece still held", () => {
  const stream = new DecodedStream<FakeFile>("docker-json", 1 << 20);
  const f = new FakeFile("a");
  const sink = new Collect();
  const [p1, p2, last] = dockerdLines("x".repeat(40_000), { stream: "stdout" });
  f.feed(stream, [p1 as string], sink);
  assert.equal(sink.out.length, 0);
  assert.equal(stream.emittedPos(f, f.readPos), 0, "the held piece starts the file");
  // A stderr line between the pieces: shipped, but its acknowledgement stops at the held piece.
  f.feed(stream, dockerdLines("err", { stream: "stderr" }), sink);
  assert.equal(sink.out[0]?.record.text, "err");
  assert.equal(sink.out[0]?.span.end, 0, "not past the stdout piece held since offset 0");
  f.feed(stream, [p2 as string, last as string], sink);
  const joined = sink.out[1];
  assert.equal(joined?.record.text.length, 40_000);
  assert.equal(joined?.record.lines, 3);
  assert.deepEqual([joined?.span.offset, joined?.span.end], [0, f.readPos], "begins at its first piece");
  assert.equal(f.unacked, 2);
  assert.equal(stream.holdsIn(f), false);
});

test("a line cut by a rotation: the rotated file is read to its end first, the record begins there and ends in the new file", () => {
  const stream = new DecodedStream<FakeFile>("cri", 1 << 20);
  const old = new FakeFile("0.log.20261207-110000");
  const live = new FakeFile("0.log");
  stream.add(old, 0);
  stream.add(live, 0);
  const sink = new Collect();
  const pieces = containerdLines("y".repeat(40_000));
  old.feed(stream, pieces.slice(0, 2), sink);
  old.orphanSince = 1;
  old.size += 100; // bytes written to it after the rename, not read yet
  assert.equal(stream.waits(live), true, "the live file waits for the rotated one");
  assert.equal(stream.mayFlush(old, 1), false, "the live file may still finish the held line");
  old.size = old.readPos;
  assert.equal(stream.waits(live), false);
  live.feed(stream, pieces.slice(2), sink);
  const [r] = sink.out;
  assert.equal(r?.record.text.length, 40_000);
  assert.equal(r?.span.file, old, "identity: the file it began in, and the offset there");
  assert.equal(r?.span.offset, 0);
  assert.equal(r?.span.end, old.readPos, "the rotated file is done");
  assert.deepEqual([r?.span.endsIn?.file, r?.span.endsIn?.end], [live, live.readPos]);
  assert.equal(old.unacked, 1, "counted where it began");
  assert.equal(live.unacked, 0);
});

test("flush: a line whose end never came is emitted partial, from the newest file only", () => {
  const stream = new DecodedStream<FakeFile>("cri", 1 << 20);
  const f = new FakeFile("0.log");
  const sink = new Collect();
  f.feed(stream, ["2026-12-07T11:00:00Z stdout P last words"], sink);
  assert.equal(stream.mayFlush(f, 0), true);
  stream.flush(sink);
  assert.equal(sink.out[0]?.record.partial, true);
  assert.equal(sink.out[0]?.record.text, "last words");
  assert.equal(sink.out[0]?.span.end, f.readPos);
  assert.equal(stream.holdsIn(f), false);
});

test("a rotated file whose successor is not linked yet holds its unfinished line a while, then emits it partial", () => {
  const stream = new DecodedStream<FakeFile>("docker-json", 1 << 20);
  const old = new FakeFile("x-json.log.1");
  const sink = new Collect();
  old.feed(stream, [dockerdLines("w".repeat(20_000))[0] as string], sink);
  old.orphanSince = 1000;
  assert.equal(stream.mayFlush(old, 1000 + ROTATED_FILE_WAIT_MS - 1), false);
  assert.equal(stream.mayFlush(old, 1000 + ROTATED_FILE_WAIT_MS), true);
  stream.flush(sink);
  assert.equal(sink.out[0]?.record.partial, true);
});

test("a file forgotten or restarted drops what it held; later records are counted where they end", () => {
  const stream = new DecodedStream<FakeFile>("docker-json", 1 << 20);
  const f = new FakeFile("a");
  const sink = new Collect();
  const [first, last] = dockerdLines("z".repeat(20_000));
  f.feed(stream, [first as string], sink);
  f.readPos = 0;
  stream.restart(f, 0);
  assert.equal(stream.holdsIn(f), false);
  assert.equal(stream.emittedPos(f, 0), 0);
  // The decoder still joins what follows; the record then begins where it ended (no lost origin).
  f.feed(stream, [last as string], sink);
  assert.equal(sink.out.length, 1);
  assert.equal(sink.out[0]?.span.file, f);
});

test("property: any interleaving of pieced lines on two streams, any bytes between them: every line is one record, positions only grow and never pass a held piece", () => {
  const line = fc.record({
    stream: fc.constantFrom("stdout" as const, "stderr" as const),
    length: fc.integer({ min: 0, max: 50_000 }),
    junk: fc.boolean(),
  });
  fc.assert(
    fc.property(fc.array(line, { maxLength: 12 }), fc.boolean(), (lines, cri) => {
      const stream = new DecodedStream<FakeFile>(cri ? "cri" : "docker-json", 1 << 20);
      const f = new FakeFile("a");
      const sink = new Collect();
      // Each line's pieces, written whole before the next line's (one writer per stream would
      // interleave pieces of the two streams; that case is covered above).
      let expected = 0;
      for (const [i, l] of lines.entries()) {
        if (l.junk) {
          f.feed(stream, [`junk ${i} {not a runtime line`], sink);
          expected++;
        }
        const text = String(i % 10).repeat(l.length);
        const pieces = cri
          ? containerdLines(text, { stream: l.stream })
          : dockerdLines(text, { stream: l.stream });
        const before = sink.out.length;
        for (const p of pieces) {
          f.feed(stream, [p], sink);
          const held = stream.emittedPos(f, f.readPos);
          for (const { span } of sink.out.slice(before))
            assert.ok(span.end <= held || span.end === f.readPos);
        }
        expected++;
      }
      assert.equal(sink.out.length, expected);
      let last = 0;
      for (const { span } of sink.out) {
        assert.ok(span.end >= last, "acknowledgement positions never go back");
        last = span.end;
      }
      assert.equal(last, f.readPos, "everything read is covered once no piece is held");
    }),
    { numRuns: 200 },
  );
});
