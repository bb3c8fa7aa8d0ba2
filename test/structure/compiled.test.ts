import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { repoRoot } from "../helpers/paths.js";

// The runner runs what tsc compiled into dist/: a test file outside tsconfig's "include" (a folder
// renamed or added without it) would never run, silently. Every committed test file must be there.
test("every *.test.ts in the repository is compiled into dist/ and so run", () => {
  const listed = spawnSync("git", ["ls-files", "*.test.ts"], { cwd: repoRoot, encoding: "utf8" });
  assert.equal(listed.status, 0, `git ls-files: ${listed.stderr}`);
  const files = listed.stdout.split("\n").filter((f) => f !== "");
  assert.ok(files.length > 100, `found only ${files.length} test files`);
  const missing = files.filter((f) => !existsSync(join(repoRoot, "dist", f.replace(/\.ts$/, ".js"))));
  assert.deepEqual(
    missing,
    [],
    "test files tsc does not compile (add their folder to tsconfig.json include)",
  );
});
