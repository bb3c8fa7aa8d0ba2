import assert from "node:assert/strict";
import { test } from "node:test";
import { TimedMap, TimedValue } from "./timed.js";

test("a timed value is reused while younger than the window, undefined included; a window of 0 keeps nothing", () => {
  let computed = 0;
  const compute = (): string | undefined => (computed++ === 0 ? undefined : `v${computed}`);
  const v = new TimedValue<string | undefined>();
  assert.equal(v.get(0, 100, compute), undefined);
  assert.equal(v.get(99, 100, compute), undefined, "the remembered undefined, not a new reading");
  assert.equal(computed, 1);
  assert.equal(v.get(100, 100, compute), "v2", "as old as the window: read again");
  assert.equal(v.get(150, 0, compute), "v3", "window 0 (a settling container): read again");
  assert.equal(v.get(160, 100, compute), "v2", "and nothing kept from it");
});

test("a timed map keeps one value per key", () => {
  const m = new TimedMap<string, number>();
  assert.equal(
    m.get("a", 0, 100, () => 1),
    1,
  );
  assert.equal(
    m.get("b", 10, 100, () => 2),
    2,
  );
  assert.equal(
    m.get("a", 50, 100, () => 3),
    1,
  );
  assert.equal(
    m.get("b", 120, 100, () => 4),
    4,
  );
});
