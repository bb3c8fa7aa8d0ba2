import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { UsageError } from "./errors.js";
import { compileLinearRegex, LinearRegexSet } from "./regex.js";

/** Patterns both engines read alike (ASCII classes, anchors, repetition, alternation). */
const PATTERNS = [
  "ERROR|FATAL",
  "^\\d{4}-\\d\\d",
  "\\bpanic:",
  "a[^b]*b$",
  "^(a+)+$",
  "(x|xy)*z",
  "[[:alpha:]]+\\s+\\d",
];

function randomLine(rng: () => number): string {
  const alphabet = "aabxyz01 9-:ERORFATLpnic\t\u0000é\n";
  let s = "";
  const n = Math.floor(rng() * 40);
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(rng() * alphabet.length)];
  return s;
}

function seeded(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

test("LinearRegexSet agrees with JavaScript's engine on patterns both read alike, for strings and bytes", () => {
  const rng = seeded(42);
  const set = new LinearRegexSet(PATTERNS, "test");
  const js = PATTERNS.map((p) => new RegExp(p.replace("[[:alpha:]]", "[A-Za-z]")));
  for (let i = 0; i < 20_000; i++) {
    const line = randomLine(rng).replaceAll("\n", "");
    const expected = js.flatMap((re, j) => (re.test(line) ? [j] : []));
    assert.deepEqual([...set.matching(line)].sort(), expected, JSON.stringify(line));
    assert.deepEqual([...set.matching(Buffer.from(line))].sort(), expected, JSON.stringify(line));
  }
});

test("hostile bytes: NUL, invalid UTF-8 and long lines match without error", () => {
  const set = new LinearRegexSet(["^(a+)+$", "b.c", "\\x00"], "test");
  for (let i = 0; i < 2_000; i++) set.matching(randomBytes(1 + (i % 300)));
  // Decoded, an invalid byte is U+FFFD, which `.` matches; as raw bytes it matches no `.`.
  assert.deepEqual(set.matching(Buffer.from([0x62, 0xff, 0x63]).toString()), [1]);
  assert.deepEqual(set.matching(Buffer.from([0x62, 0xff, 0x63])), []);
  assert.deepEqual(set.matching(Buffer.from("a\u0000b")), [2]);
  assert.deepEqual(set.matching(`${"a".repeat(1_000_000)}!`), []);
  assert.deepEqual(set.matching("a".repeat(1_000_000)), [0]);
  assert.equal(compileLinearRegex("^(a+)+$", "t").test(`${"a".repeat(34)}!`), false);
});

test("what RE2 cannot run is refused, naming the setting", () => {
  for (const bad of ["a(?=b)", "(?<!a)b", "(a)\\1", "[", "a{1001}"]) {
    assert.throws(
      () => compileLinearRegex(bad, "config exporter.logRules.3.regex"),
      (e: unknown) =>
        e instanceof UsageError &&
        e.message.startsWith(`config exporter.logRules.3.regex: invalid regex ${JSON.stringify(bad)}`),
      bad,
    );
  }
  assert.throws(() => new LinearRegexSet(["ok", "(?=x)"], "kernel rule"), /kernel rule\.1: invalid regex/);
});
