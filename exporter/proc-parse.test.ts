import assert from "node:assert/strict";
import { test } from "node:test";
import { parseConntrackStat, parseLoadavgThreads } from "./proc-parse.js";

test("loadavg total tasks", () => {
  assert.equal(parseLoadavgThreads("0.15 0.06 0.01 3/103 7217\n"), 103);
  assert.throws(() => parseLoadavgThreads("garbage"), /loadavg/);
});

test("conntrack stat columns are summed over CPUs, entries is not", () => {
  const text =
    "entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart\n" +
    "0000000a  00000000 00000000 00000000 00000001 00000000 00000000 00000000 00000000 00000002 00000010 00000000 00000000  00000000 00000000 00000000 00000003\n" +
    "0000000a  00000000 00000000 00000000 00000001 00000000 00000000 00000000 00000000 00000003 0000000f 00000001 00000000  00000000 00000000 00000000 00000000\n";
  const s = parseConntrackStat(text);
  assert.equal(s.get("entries"), 10);
  assert.equal(s.get("insert_failed"), 5);
  assert.equal(s.get("drop"), 31);
  assert.equal(s.get("early_drop"), 1);
  assert.equal(s.get("search_restart"), 3);
});
