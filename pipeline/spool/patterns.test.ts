import assert from "node:assert/strict";
import { test } from "node:test";
import { compileFilter } from "./patterns.js";

test("default-like filter: *.log at any depth, *.gz excluded, rotated names out", () => {
  const f = compileFilter(["*.log"], ["*.gz"]);
  assert.equal(f("c1/x.log"), true);
  assert.equal(f("c1/a/b/c/d/e/f/g/h/i/j/k/deep.log"), true);
  assert.equal(f("c1/.hidden.log"), true);
  assert.equal(f("c1/x.log.1"), false);
  assert.equal(f("c1/x.log.gz"), false);
  assert.equal(f("c1/x.txt"), false);
});

test("exclude wins; patterns with a slash match the relative path", () => {
  const f = compileFilter(["*.log", "*.out"], ["debug-*.log", "c2/**"]);
  assert.equal(f("c1/debug-1.log"), false);
  assert.equal(f("c1/run.out"), true);
  assert.equal(f("c2/x.log"), false);
  assert.equal(f("c3/x.log"), true);
  const g = compileFilter(["*/app/**/*.log"], []);
  assert.equal(g("c1/app/x.log"), true);
  assert.equal(g("c1/app/a/b/x.log"), true);
  assert.equal(g("c1/other/x.log"), false);
});
