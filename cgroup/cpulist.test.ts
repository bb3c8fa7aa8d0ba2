import assert from "node:assert/strict";
import { test } from "node:test";
import { formatCpuList, parseCpuList } from "./cpulist.js";

test("parseCpuList: ranges, singles, blanks, newline", () => {
  assert.deepEqual(parseCpuList("0-3,8,10-11\n"), [0, 1, 2, 3, 8, 10, 11]);
  assert.deepEqual(parseCpuList("5"), [5]);
  assert.deepEqual(parseCpuList("\n"), []);
  assert.deepEqual(parseCpuList("8,0-1,1"), [0, 1, 8]);
  assert.deepEqual(parseCpuList("0-7:2/4"), [0, 1, 4, 5]);
});

test("parseCpuList: rejects garbage with the offending item named", () => {
  assert.throws(() => parseCpuList("0-x"), /"0-x"/);
  assert.throws(() => parseCpuList("3-1"), /invalid CPU range "3-1"/);
});

test("formatCpuList: collapses runs, sorts, de-duplicates; round-trips", () => {
  assert.equal(formatCpuList([0, 1, 2, 3, 8, 10, 11]), "0-3,8,10-11");
  assert.equal(formatCpuList([11, 10, 8, 3, 2, 1, 0, 0]), "0-3,8,10-11");
  assert.equal(formatCpuList([]), "");
  assert.equal(formatCpuList([4]), "4");
  for (const s of ["0", "0-1", "0-3,8,10-11", "1,3,5-6"]) assert.equal(formatCpuList(parseCpuList(s)), s);
});
