import assert from "node:assert/strict";
import { test } from "node:test";
import {
  isFlatteningUnambiguous,
  linkNameFor,
  NAME_MAX_BYTES,
  TEMP_PREFIX,
  truncateUtf8,
  utf8Bytes,
} from "./naming.js";

test("readable names: container and path joined with __", () => {
  assert.equal(linkNameFor("c1/x.log"), "c1__x.log");
  assert.equal(linkNameFor("c1/app/sub/x.log"), "c1__app__sub__x.log");
  assert.equal(linkNameFor("top.log"), "top.log");
  assert.equal(linkNameFor("容器/日志.log"), "容器__日志.log");
  assert.equal(linkNameFor("_c/x_.log"), "_c__x_.log");
});

test("ambiguous flattenings get a hash and never collide", () => {
  const paths = ["a__b/c.log", "a/b__c.log", "a/b/c.log", "a_/b.log", "a/_b.log", "a___b.log", "a/__b.log"];
  const names = paths.map(linkNameFor);
  assert.equal(new Set(names).size, paths.length);
  assert.equal(linkNameFor("a/b/c.log"), "a__b__c.log");
  assert.match(linkNameFor("a__b/c.log"), /^a__b__c~[0-9a-f]{12}\.log$/);
  assert.equal(isFlatteningUnambiguous(["a", "b_", "c"]), false);
});

test("a readable name that looks hashed or like a temp entry is hashed", () => {
  const lookalike = linkNameFor("c1/x~0123456789ab.log");
  assert.notEqual(lookalike, "c1__x~0123456789ab.log");
  assert.match(lookalike, /~[0-9a-f]{12}\.log$/);
  const temp = linkNameFor(`${TEMP_PREFIX}1/x.log`);
  assert.ok(!temp.startsWith(TEMP_PREFIX));
});

test("overlong names are cut by bytes at a UTF-8 boundary, keep the extension, stay unique", () => {
  const long1 = `c1/${"é".repeat(200)}/${"日".repeat(100)}1.log`;
  const long2 = `c1/${"é".repeat(200)}/${"日".repeat(100)}2.log`;
  const n1 = linkNameFor(long1);
  const n2 = linkNameFor(long2);
  assert.ok(utf8Bytes(n1) <= NAME_MAX_BYTES);
  assert.ok(utf8Bytes(n2) <= NAME_MAX_BYTES);
  assert.notEqual(n1, n2);
  assert.ok(n1.startsWith("c1__éé") && n1.endsWith(".log"));
  assert.ok(!n1.includes("\uFFFD"));
  assert.equal(linkNameFor(long1), n1, "stable");
});

test("truncateUtf8 never splits a code point", () => {
  assert.equal(truncateUtf8("aé", 2), "a");
  assert.equal(truncateUtf8("a😀b", 4), "a");
  assert.equal(truncateUtf8("a😀b", 5), "a😀");
  assert.equal(truncateUtf8("abc", 10), "abc");
});

test("relative paths must be normalized", () => {
  assert.throws(() => linkNameFor("/abs.log"));
  assert.throws(() => linkNameFor("a/../b.log"));
  assert.throws(() => linkNameFor(""));
});
