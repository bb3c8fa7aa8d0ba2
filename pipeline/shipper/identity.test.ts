import assert from "node:assert/strict";
import { test } from "node:test";
import { containerFor } from "./container.js";
import { fingerprintOf } from "./fingerprint.js";

test("the container is the first directory below the log root, else the link name's prefix", () => {
  assert.equal(containerFor("/app/log", "/app/log/abc123/x/y.log", "abc123__x__y.log"), "abc123");
  assert.equal(containerFor("/app/log", "/app/log/top.log", "top.log"), "");
  assert.equal(containerFor("/app/log", "/elsewhere/c9/y.log", "c9__y.log"), "c9");
  assert.equal(containerFor("/app/log", "/app/logs/c9/y.log", "y.log"), "");
});

test("the fingerprint settles on the first line or 64 bytes and ignores what is appended later", () => {
  const short = fingerprintOf(Buffer.from("hello"));
  assert.equal(short.settled, false);
  const line = fingerprintOf(Buffer.from("hello\nworld"));
  assert.deepEqual([line.length, line.settled], [6, true]);
  assert.equal(fingerprintOf(Buffer.from("hello\nsomething else")).hash, line.hash);
  const long = fingerprintOf(Buffer.alloc(100, 0x61));
  assert.deepEqual([long.length, long.settled], [64, true]);
  assert.notEqual(fingerprintOf(Buffer.from("other\n")).hash, line.hash);
});
