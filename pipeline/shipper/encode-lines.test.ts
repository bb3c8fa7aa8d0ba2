import assert from "node:assert/strict";
import { test } from "node:test";
import { type LineBytesSink, LineSplitter, type LinesBulkSink } from "../../common/files/lines.js";
import { BatchBuilder } from "./batch-builder.js";
import { appFileMeta } from "./file-meta.js";
import type { RecordBatch } from "./record-batch.js";
import type { TrackedFile } from "./tracked-file.js";

// The native encoder (pipeline/native/src/records.c) against the JavaScript path it replaces
// for runs of complete lines: the same batches, byte for byte, with the same boundaries.

function randomLines(seed: number, count: number): Buffer {
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  const parts: Buffer[] = [];
  for (let n = 0; n < count; n++) {
    const kind = rnd() % 10;
    const len = kind === 0 ? 0 : kind === 1 ? 150 + (rnd() % 200) : rnd() % 60;
    const line = Buffer.alloc(len);
    for (let i = 0; i < len; i++) {
      const r = rnd() % 20;
      // Mostly printable; quotes, backslashes, control bytes, valid and invalid UTF-8 mixed in.
      line[i] =
        r === 0
          ? rnd() % 256
          : r === 1
            ? 0x22
            : r === 2
              ? 0x5c
              : r === 3
                ? rnd() % 0x20
                : 0x20 + (rnd() % 95);
    }
    if (kind === 2) parts.push(Buffer.from("käse 日本語 😀\u2028"));
    if (kind === 3 && len > 0) line[len - 1] = 0x0d; // CRLF line
    if (kind === 4) parts.push(Buffer.from([0xed, 0xa0, 0x80, 0xf0, 0x9f, 0x98, 0xe2, 0x82]));
    parts.push(line, Buffer.from("\n"));
  }
  return Buffer.concat(parts);
}

function fileLike(replayUntil: number): TrackedFile {
  return {
    fileId: "2049:123456:0123456789abcdef",
    path: '/var/log/containers/app "x"/c.log',
    meta: appFileMeta("c0ffee"),
    generation: 1,
    replayUntil,
  } as unknown as TrackedFile;
}

interface Shipped {
  data: Buffer[];
  ends: number[][];
  keys: string[][];
  spans: [number, number, number][][];
}

interface ShipRun {
  /** Runs of complete lines go to the native encoder (BatchBuilder.linesBulk). */
  bulk: boolean;
  /** File offset of the first byte of `src`. */
  base: number;
  replayUntil: number;
  maxRecords: number;
  maxBytes: number;
  maxLineBytes: number;
}

function ship(src: Buffer, run: ShipRun): Shipped {
  const builder = new BatchBuilder({
    host: "host-1",
    batchMaxRecords: run.maxRecords,
    batchMaxBytes: run.maxBytes,
  });
  builder.startPass(Date.UTC(2026, 10, 25, 12));
  const f = fileLike(run.replayUntil);
  const splitter = new LineSplitter(run.base, run.maxLineBytes);
  const sink: LineBytesSink = (line) => builder.lineBytes(f, line);
  const bulkSink: LinesBulkSink | undefined = run.bulk ? (lines) => builder.linesBulk(f, lines) : undefined;
  // Odd chunk sizes, so lines also span chunks (those take the JavaScript path either way).
  for (let at = 0; at < src.length; at += 4093) splitter.scan(src.subarray(at, at + 4093), sink, bulkSink);
  builder.seal();
  const batches: RecordBatch<TrackedFile>[] = builder.takeReady();
  return {
    data: batches.map((b) => Buffer.from(b.data.subarray(0, b.pos))),
    ends: batches.map((b) => [...b.ends]),
    keys: batches.map((b) => b.keys.map((k) => k.toString())),
    spans: batches.map((b) => b.spans.map((s) => [s.records, s.end, s.bytes] as [number, number, number])),
  };
}

const settings: [string, number, number, number, number, number][] = [
  // name, seed, base offset, replayUntil (relative), batchMaxRecords, batchMaxBytes
  ["defaults-like batches", 1, 0, 0, 10000, 768 * 1024],
  ["small batches by count", 2, 7, 0, 7, 768 * 1024],
  ["small batches by bytes", 3, 0, 0, 10000, 3000],
  ["offsets past 2^32, part replayed", 4, 2 ** 32 + 5, 20000, 100, 64 * 1024],
];

for (const [name, seed, base, replay, maxRecords, maxBytes] of settings) {
  test(`native encoding equals the JavaScript path: ${name}`, () => {
    const src = randomLines(seed, 3000);
    const replayUntil = replay ? base + replay : 0;
    const run = { base, replayUntil, maxRecords, maxBytes, maxLineBytes: 200 };
    const js = ship(src, { ...run, bulk: false });
    const native = ship(src, { ...run, bulk: true });
    assert.equal(native.data.length, js.data.length, "batch count");
    assert.deepEqual(native.ends, js.ends);
    assert.deepEqual(native.keys, js.keys);
    assert.deepEqual(native.spans, js.spans);
    for (let i = 0; i < js.data.length; i++) assert.deepEqual(native.data[i], js.data[i], `batch ${i}`);
    // And every record is valid JSON with the line's own offset.
    const first = JSON.parse((native.data[0] as Buffer).subarray(0, native.ends[0]?.[0]).toString("utf8"));
    assert.equal(first.offset, base);
    assert.equal(first.host, "host-1");
  });
}
