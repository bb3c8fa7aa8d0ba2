import assert from "node:assert/strict";
import { test } from "node:test";
import { LineSplitter } from "../../common/files/lines.js";
import { MultilineAssembler } from "./multiline.js";

const lines = (text: string) => new LineSplitter(0, 1 << 20).push(Buffer.from(text));

test("indented stack frames join the line before them", () => {
  const m = new MultilineAssembler(/^\S/, 1 << 20, 100);
  const out = m.push(lines("a\nERROR x\n\tat A.b(A.java:1)\n  at C.d(C.java:2)\nnext\n"));
  assert.deepEqual(
    out.map((r) => [r.offset, r.text, r.lines]),
    [
      [0, "a", 1],
      [2, "ERROR x\n\tat A.b(A.java:1)\n  at C.d(C.java:2)", 3],
    ],
  );
  assert.equal(m.pendingStart, 47);
  const last = m.flush();
  assert.equal(last?.text, "next");
  assert.equal(last?.end, 52);
});

test("without a pattern every line is a record; records are capped in lines and bytes", () => {
  assert.equal(new MultilineAssembler(undefined, 10, 10).push(lines("a\n b\n")).length, 2);
  const m = new MultilineAssembler(/^\S/, 13, 100);
  m.push(lines("start\n 123456\n 789\n"));
  const r = m.flush();
  assert.equal(r?.text, "start\n 123456");
  assert.equal(r?.truncated, true);
  assert.equal(r?.end, 19);
});
