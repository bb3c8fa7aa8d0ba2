import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { BoxscopeError } from "../../common/errors.js";
import { loadPositions, type PositionEntry, savePositions } from "./positions.js";

const entry = (offset: number): PositionEntry => ({
  dev: 1,
  ino: 2,
  fpHash: "ab",
  fpLength: 3,
  offset,
  path: "/l/c1/a.log",
  container: "c1",
  seenAt: 1,
});

test("positions round-trip; each write keeps the previous generation as .bak", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "boxscope-test-positions-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const p = join(dir, "pos.json");
  assert.deepEqual(loadPositions(p, undefined), { kind: "missing" });
  savePositions(p, new Map([["1:2:ab", entry(10)]]));
  assert.equal(existsSync(`${p}.bak`), false);
  savePositions(p, new Map([["1:2:ab", entry(20)]]));
  const now = loadPositions(p, undefined);
  assert.equal(now.kind === "loaded" && now.positions.get("1:2:ab")?.offset, 20);
  assert.match(readFileSync(`${p}.bak`, "utf8"), /"offset":10/);
  assert.equal(existsSync(`${p}.tmp`), false);
});

test("a corrupt file is an error naming it and the recoveries, never an empty start", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "boxscope-test-positions-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const p = join(dir, "pos.json");
  writeFileSync(p, JSON.stringify({ version: 1, files: { x: { offset: "ten" } } }));
  assert.throws(
    () => loadPositions(p, undefined),
    (e: unknown) =>
      e instanceof BoxscopeError &&
      /pos\.json is corrupt \(unexpected content at files\.x/.test(e.message) &&
      /--positions-recover=bak/.test(e.message),
  );
  assert.throws(() => loadPositions(p, "bak"), /pos\.json\.bak is missing/);
  assert.equal(loadPositions(p, "end").kind, "recovering");
  writeFileSync(`${p}.bak`, JSON.stringify({ version: 1, files: { "1:2:ab": entry(5) } }));
  const bak = loadPositions(p, "bak");
  assert.equal(bak.kind === "loaded" && bak.from, `${p}.bak`);
});
