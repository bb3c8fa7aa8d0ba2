import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";
import { pino } from "pino";
import { repoRoot } from "../test/helpers/paths.js";
import { BoxscopeError, ERROR_CODES, errnoCode, UsageError } from "./errors.js";

/** The parts' sources, TypeScript and the native addons' C (not tests, not the build). */
function* sources(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (
        !["node_modules", "dist", "build", "build-deps", "test", "tmp", "third_party"].includes(entry.name) &&
        !entry.name.startsWith(".")
      )
        yield* sources(path);
    } else if (/\.(ts|c|h)$/.test(entry.name) && !entry.name.endsWith(".test.ts")) yield path;
  }
}

test("every code is listed once, named BXS_*, says what it means, and is used by the code", () => {
  const text = [...sources(repoRoot)]
    .filter((f) => relative(repoRoot, f) !== "common/errors.ts")
    .map((f) => readFileSync(f, "utf8"))
    .join("\n");
  for (const [code, meaning] of Object.entries(ERROR_CODES)) {
    assert.match(code, /^BXS_[A-Z]+(_[A-Z]+)*$/);
    assert.ok(meaning.length > 10, `${code}: say what it means`);
    assert.ok(text.includes(`"${code}"`), `${code} is raised nowhere: remove it`);
  }
});

test("a BoxscopeError carries its code into JSON and pino's log lines; its code is not an errno", () => {
  const e = new UsageError("BXS_CONFIG_INVALID", "config exporter.listen: bad", {
    context: { key: "listen" },
  });
  assert.ok(e instanceof BoxscopeError);
  assert.equal(e.exitCode, 2);
  assert.deepEqual(JSON.parse(JSON.stringify({ errors: [e] })), {
    errors: [
      { code: "BXS_CONFIG_INVALID", message: "config exporter.listen: bad", context: { key: "listen" } },
    ],
  });
  const lines: string[] = [];
  pino({ base: null, timestamp: false }, { write: (s: string) => lines.push(s) }).error(
    { err: e },
    "stopping",
  );
  const logged = JSON.parse(lines[0] ?? "{}").err;
  assert.equal(logged.code, "BXS_CONFIG_INVALID");
  assert.equal(logged.message, "config exporter.listen: bad");
  assert.equal(errnoCode(e), undefined);
  assert.equal(errnoCode(Object.assign(new Error("x"), { code: "ENOENT" })), "ENOENT");
  assert.equal(new BoxscopeError("BXS_LISTEN_FAILED", "x").exitCode, 1);
});
