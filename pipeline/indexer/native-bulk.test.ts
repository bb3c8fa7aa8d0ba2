import assert from "node:assert/strict";
import { test } from "node:test";
import { LineSplitter } from "../../common/files/lines.js";
import type { InMessage } from "../kafka/types.js";
import { BatchBuilder } from "../shipper/batch-builder.js";
import { appFileMeta } from "../shipper/file-meta.js";
import type { TrackedFile } from "../shipper/tracked-file.js";
import { type BulkDocument, bulkBody } from "./bulk.js";
import { prepareDocument } from "./documents.js";
import { nativeBulkBody } from "./native-bulk.js";

// The native `_bulk` body (pipeline/native/src/documents.c) against the JavaScript path it
// stands in for: either the same bytes, or null (the chunk goes the JavaScript way).

const PREFIX = "logs-x";

const message = (value: Buffer | string | null, offset = 0): InMessage => ({
  offset: String(offset),
  key: null,
  value: typeof value === "string" ? Buffer.from(value) : value,
});

/** The JavaScript path's body, or null when it would not index every record as is. */
function jsBody(values: (Buffer | null)[]): Buffer | null {
  const docs: BulkDocument[] = [];
  for (const v of values) {
    const p = prepareDocument(v, PREFIX);
    if (!p.ok || p.replayed) return null;
    docs.push(p);
  }
  return bulkBody(docs);
}

/** Lines from fragments that exercise JSON escaping: quotes, backslashes, control bytes, UTF-8. */
function randomLines(seed: number, count: number): Buffer {
  const fragments = [
    'say "hi"',
    "C:\\dir\\",
    "\t",
    "\u0001\u001f",
    "käse 日本語 😀\u2028",
    "plain text ",
    "\r",
  ];
  const raw = [Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xf0, 0x9f]), Buffer.from([0xff])];
  const next = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  const parts: Buffer[] = [];
  for (let n = 0; n < count; n++) {
    for (let k = next() % 6; k > 0; k--) {
      const i = next() % (fragments.length + raw.length);
      parts.push(
        i < fragments.length ? Buffer.from(fragments[i] as string) : (raw[i - fragments.length] as Buffer),
      );
    }
    parts.push(Buffer.from("\n"));
  }
  return Buffer.concat(parts);
}

/** Records as `boxscope ship` writes them, for the lines of `src` (the first `replayed` bytes flagged). */
function shipperRecords(src: Buffer, base: number, replayed: number): Buffer[] {
  const builder = new BatchBuilder({ host: "host-1", batchMaxRecords: 100000, batchMaxBytes: 1 << 30 });
  builder.startPass(Date.UTC(2028, 1, 29, 23, 59, 59));
  const file = {
    fileId: "2049:123456:0123456789abcdef",
    path: '/var/log/containers/app "x"/c.log',
    meta: appFileMeta("c0ffee"),
    generation: 1,
    replayUntil: replayed ? base + replayed : 0,
  } as unknown as TrackedFile;
  const splitter = new LineSplitter(base, 200);
  for (let at = 0; at < src.length; at += 4093) {
    splitter.scan(
      src.subarray(at, at + 4093),
      (line) => builder.lineBytes(file, line),
      (run) => builder.linesBulk(file, run),
    );
  }
  builder.seal();
  const records: Buffer[] = [];
  for (const b of builder.takeReady()) {
    let start = 0;
    for (const end of b.ends) {
      records.push(Buffer.from(b.data.subarray(start, end)));
      start = end;
    }
  }
  return records;
}

test("the shipper's records: the native body equals the JavaScript one; replayed ones are left to it", () => {
  const records = shipperRecords(randomLines(7, 2000), 2 ** 32 + 5, 3000);
  let plain = 0;
  let replayed = 0;
  for (const r of records) {
    const js = prepareDocument(r, PREFIX);
    assert.ok(js.ok, r.toString());
    const native = nativeBulkBody([message(r)], PREFIX);
    if (js.replayed) {
      assert.equal(native, null);
      replayed++;
    } else {
      assert.deepEqual(native, bulkBody([js]), r.toString());
      plain++;
    }
  }
  assert.ok(plain > 1000 && replayed > 10, `${plain} plain, ${replayed} replayed`);
  const chunk = records.filter((r) => !r.includes('"replayed":true'));
  assert.deepEqual(
    nativeBulkBody(
      chunk.map((r) => message(r)),
      PREFIX,
    ),
    jsBody(chunk),
  );
  // One record the JavaScript path must see makes the whole chunk go that way.
  assert.equal(
    nativeBulkBody(
      [...chunk, ...records].map((r) => message(r)),
      PREFIX,
    ),
    null,
  );
});

const base = {
  "@timestamp": "2026-11-25T12:00:00.000Z",
  host: "h1",
  container: "c1",
  file: "/x.log",
  fileId: "1:2:ab",
  offset: 10,
  line: "a line",
};
const json = (fields: Record<string, unknown>) => JSON.stringify({ ...base, ...fields });

test("records the native path takes are written as the JavaScript path writes them", () => {
  const taken = [
    json({}),
    json({ offset: "12" }),
    json({ offset: 0 }),
    json({ offset: 999_999_999_999_999 }),
    json({ replayed: false, truncated: true, lines: 3 }),
    json({ nested: { a: [1, { b: "}]" }], c: null }, list: [] }),
    json({ "@timestamp": "2028-02-29T23:59:59Z" }),
    json({ line: 'esc \\ " \u0000 \u2028 😀 \ud800' }),
    ` \t${json({})}\r `,
    '{"host":"h1","fileId":"f","offset":1,"@timestamp":"2026-01-01T00:00:00.000Z","x":-1.5e+3}',
  ];
  for (const t of taken) {
    const native = nativeBulkBody([message(t)], PREFIX);
    assert.notEqual(native, null, t);
    assert.deepEqual(native, jsBody([Buffer.from(t)]), t);
  }
});

test("records the native path cannot vouch for go to the JavaScript path", () => {
  const left = [
    null,
    "",
    "{not json",
    "{}",
    "[1]",
    `\ufeff${json({})}`,
    json({ host: "h\\u00e9" }),
    json({ host: "hé" }),
    json({ host: "" }),
    json({ fileId: 7 }),
    json({ offset: 1e3 * 1e20 }),
    json({ offset: -1 }),
    json({ offset: 1.5 }),
    json({ offset: 1_000_000_000_000_000 }),
    json({ offset: null }),
    json({ replayed: true }),
    json({ "@timestamp": "2026-02-29T00:00:00.000Z" }),
    json({ "@timestamp": "2026-11-25T24:00:00.000Z" }),
    json({ "@timestamp": "2026-11-25T12:00:00.000+01:00" }),
    json({ "@timestamp": 1764072000000 }),
    `${json({})}x`,
    json({}).replace('"host":"h1"', '"host":"h1","host":"h2"'),
    json({}).replace('"host"', '"\\u0068ost"'),
    json({}).replace(',"line"', ',\n"line"'),
    json({}).replace('"a line"', '"a \\x line"'),
    json({}).replace('"a line"', '"a \u0001 line"'),
    json({}).replace('"offset":10', '"offset":010'),
    json({ nested: { a: 1 } }).replace('{"a":1}', '{"a":1'),
  ];
  // An index prefix longer than documents.c reads whole.
  assert.equal(nativeBulkBody([message(json({}))], "p".repeat(300)), null);
  for (const l of left) {
    const value = l === null ? null : Buffer.from(l);
    assert.equal(nativeBulkBody([message(value)], PREFIX), null, String(l));
  }
});
