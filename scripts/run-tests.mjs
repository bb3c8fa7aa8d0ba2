#!/usr/bin/env node
// Runs every compiled test file (dist/**/*.test.js) with Node's built-in test runner.
// `npm test -- shim cgroup` keeps only files whose path contains one of the words.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const dist = join(root, "dist");
const filters = process.argv.slice(2);

function* walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(p);
    else if (entry.name.endsWith(".test.js")) yield p;
  }
}

const files = [...walk(dist)]
  .filter((f) => filters.length === 0 || filters.some((w) => relative(dist, f).includes(w)))
  .sort();
if (files.length === 0) {
  console.error(`run-tests: no test files under dist/ match ${filters.join(" ") || "(all)"}`);
  process.exit(1);
}
const res = spawnSync(process.execPath, ["--test", "--test-reporter=spec", ...files], {
  stdio: "inherit",
  cwd: root,
});
process.exit(res.status ?? 1);
