import assert from "node:assert/strict";
import { test } from "node:test";
import { type LineBytesSink, LineSplitter } from "./lines.js";

test("lines carry their byte offsets across chunk boundaries", () => {
  const s = new LineSplitter(100, 1024);
  assert.deepEqual(s.push(Buffer.from("ab\ncd")), [{ offset: 100, end: 103, text: "ab", truncated: false }]);
  assert.equal(s.pendingBytes, 2);
  assert.deepEqual(s.push(Buffer.from("e\n\nf")), [
    { offset: 103, end: 107, text: "cde", truncated: false },
    { offset: 107, end: 108, text: "", truncated: false },
  ]);
  assert.deepEqual(s.flush(), { offset: 108, end: 109, text: "f", truncated: false });
  assert.equal(s.flush(), undefined);
});

test("a huge line is cut at the cap, flagged, and the next line starts after its newline", () => {
  const s = new LineSplitter(0, 4);
  assert.deepEqual(s.push(Buffer.from("0123456789")), []);
  assert.equal(s.pendingBytes, 10);
  const [big, next] = s.push(Buffer.from("abc\nok\n"));
  assert.deepEqual(big, { offset: 0, end: 14, text: "0123", truncated: true });
  assert.deepEqual(next, { offset: 14, end: 17, text: "ok", truncated: false });
});

test("invalid UTF-8 and CRLF never break a line", () => {
  const s = new LineSplitter(0, 1024);
  const [a, b] = s.push(Buffer.from([0xff, 0xfe, 0x41, 0x0d, 0x0a, 0xe4, 0xb8, 0x0a]));
  assert.equal(a?.text, "\uFFFD\uFFFDA");
  assert.equal(b?.text, "\uFFFD");
  assert.equal(b?.end, 8);
});

test("scan hands out the same lines as push, as byte ranges, however the bytes are chunked", () => {
  let seed = 7;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let round = 0; round < 200; round++) {
    const parts: number[] = [];
    const len = rnd(300);
    for (let i = 0; i < len; i++) {
      const r = rnd(20);
      parts.push(r === 0 ? 10 : r === 1 ? 13 : r === 2 ? 0xff : 0x61 + rnd(26));
    }
    const data = Buffer.from(parts);
    const cap = 1 + rnd(40);
    const viaPush = new LineSplitter(5, cap);
    const viaScan = new LineSplitter(5, cap);
    const want: unknown[] = [];
    const got: unknown[] = [];
    const sink: LineBytesSink = ({ src, start, stop, offset, end, truncated }) =>
      got.push({ offset, end, text: src.toString("utf8", start, stop), truncated });
    let at = 0;
    while (at < data.length) {
      const n = 1 + rnd(60);
      const chunk = data.subarray(at, at + n);
      want.push(...viaPush.push(chunk));
      const before = got.length;
      const n2 = viaScan.scan(chunk, sink);
      assert.equal(n2, got.length - before);
      at += n;
    }
    const last = viaPush.flush();
    if (last) want.push(last);
    viaScan.flushTo(sink);
    assert.deepEqual(got, want);
    assert.equal(viaScan.pendingStart, viaPush.pendingStart);
  }
});
