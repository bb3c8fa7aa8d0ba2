import assert from "node:assert/strict";
import { test } from "node:test";
import { maxJsonBytes, writeJsonBytes, writeJsonText, writeUint } from "./json-bytes.js";

/** What the shipper wrote before it built values as bytes: JSON.stringify of the decoded line. */
function reference(bytes: Buffer): Buffer {
  return Buffer.from(JSON.stringify(bytes.toString("utf8")), "utf8");
}

function encode(bytes: Buffer): Buffer {
  // Encode from the middle of a larger buffer, into the middle of another, to catch offset slips.
  const src = Buffer.concat([Buffer.from("xx"), bytes, Buffer.from("yy")]);
  const dst = Buffer.alloc(maxJsonBytes(bytes.length) + 8, 0x2a);
  const end = writeJsonBytes(dst, 3, src, 2, 2 + bytes.length);
  assert.ok(end <= dst.length);
  assert.equal(dst[2], 0x2a, "wrote before its position");
  return dst.subarray(3, end);
}

const cases: [string, Buffer][] = [
  ["plain ASCII", Buffer.from("2026-11-25T12:00:00Z level=info msg=ok took_ms=3")],
  ["empty", Buffer.alloc(0)],
  ["quotes and backslashes", Buffer.from('msg="a \\"quoted\\" path C:\\tmp"')],
  ["tabs and control bytes", Buffer.from([0x61, 0x09, 0x62, 0x00, 0x01, 0x1f, 0x0c, 0x08, 0x0d, 0x7f])],
  ["valid multi-byte UTF-8", Buffer.from("käse 日本語 😀 \u2028 end")],
  ["invalid UTF-8", Buffer.from([0x41, 0xff, 0xfe, 0x42, 0xe4, 0xb8, 0x43, 0xc0, 0xaf])],
  ["truncated sequence at the end", Buffer.from([0x61, 0xe2, 0x82])],
  ["UTF-8 encoded surrogate (invalid)", Buffer.from([0xed, 0xa0, 0x80, 0x61])],
  ["overlong encoding", Buffer.from([0xe0, 0x80, 0xaf])],
  ["invalid UTF-8 with a quote", Buffer.from([0x22, 0xff, 0x5c])],
];

for (const [name, bytes] of cases) {
  test(`line bytes encode exactly as JSON.stringify of the decoded text: ${name}`, () => {
    const out = encode(bytes);
    assert.deepEqual(out, reference(bytes));
    assert.equal(JSON.parse(out.toString("utf8")), bytes.toString("utf8"));
    assert.ok(out.length <= maxJsonBytes(bytes.length));
  });
}

test("every single byte value encodes as JSON.stringify does, and within the bound", () => {
  for (let b = 0; b < 256; b++) {
    const bytes = Buffer.from([0x61, b, 0x62]);
    assert.deepEqual(encode(bytes), reference(bytes), `byte 0x${b.toString(16)}`);
  }
});

test("random byte strings round-trip through JSON.parse", () => {
  let seed = 42;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  for (let n = 0; n < 500; n++) {
    const len = rnd() % 40;
    const bytes = Buffer.alloc(len);
    // Mostly printable ASCII with some high and control bytes, like real logs with garbage in them.
    for (let i = 0; i < len; i++) bytes[i] = rnd() % 5 === 0 ? rnd() % 256 : 0x20 + (rnd() % 95);
    assert.deepEqual(encode(bytes), reference(bytes));
  }
});

test("text and integers are written as UTF-8 JSON and decimal digits", () => {
  const dst = Buffer.alloc(64);
  let pos = writeJsonText(dst, 0, 'a\n"b"\ud800');
  assert.equal(dst.toString("utf8", 0, pos), JSON.stringify('a\n"b"\ud800'));
  for (const n of [0, 7, 9, 10, 99, 100, 1009, 123456789, 4294967295, 2 ** 40]) {
    pos = writeUint(dst, 0, n);
    assert.equal(dst.toString("latin1", 0, pos), String(n));
  }
});
