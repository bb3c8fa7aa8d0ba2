import assert from "node:assert/strict";
import { test } from "node:test";
import { LineSplitter } from "./lines.js";

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
