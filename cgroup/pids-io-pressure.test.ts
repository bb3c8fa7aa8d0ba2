import assert from "node:assert/strict";
import { test } from "node:test";
import { PATH_A, PATH_B, PATH_C, PATH_D, v1Mounts, v2Mounts } from "../test/cgroup/fixtures.js";
import { handleForPath } from "./handle.js";
import { combineBlkio, parseBlkioRecursive, parseIoStat, readIo } from "./io.js";
import { readPids } from "./pids.js";
import { parsePressureTotals, readPressure } from "./pressure.js";

test("readPids v1: pids.max only on the pod (100) is effective; events max", () => {
  const { data, errors } = readPids(handleForPath(v1Mounts(), PATH_A));
  assert.deepEqual(errors, []);
  assert.deepEqual(data, { current: 7, max: 100, limitHits: 3 });
  assert.deepEqual(readPids(handleForPath(v1Mounts(), PATH_B)).data, {
    current: 1,
    max: 50,
    limitHits: undefined,
  });
});

test("readPids v2: limit on kubepods.slice; unlimited docker has no pids.current → error, no data", () => {
  assert.deepEqual(readPids(handleForPath(v2Mounts(), PATH_C)).data, {
    current: 12,
    max: 1000,
    limitHits: 0,
  });
  const d = readPids(handleForPath(v2Mounts(), PATH_D));
  assert.equal(d.data, undefined);
  assert.equal(d.errors[0]?.code, "BXS_CGROUP_FILE_MISSING");
  assert.match(d.errors[0]?.message ?? "", /ENOENT reading .*pids.current/);
  const root = readPids(handleForPath(v2Mounts(), "/"));
  assert.deepEqual(
    root,
    { data: undefined, errors: [] },
    "the root cgroup has no pids.current: no data, and not an error",
  );
});

test("parseIoStat: per device, discard fields optional", () => {
  const m = parseIoStat(
    "8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n259:0 rbytes=5 wbytes=6 rios=7 wios=8\n",
  );
  assert.deepEqual(m.get("8:0"), {
    readBytes: 10,
    writeBytes: 20,
    readIos: 1,
    writeIos: 2,
    discardBytes: 0,
    discardIos: 0,
  });
  assert.deepEqual(m.get("259:0"), { readBytes: 5, writeBytes: 6, readIos: 7, writeIos: 8 });
});

test("parseBlkioRecursive: ops per device, the final Total line is skipped", () => {
  const m = parseBlkioRecursive(
    "8:0 Read 1\n8:0 Write 2\n8:0 Sync 3\n8:0 Async 0\n8:0 Discard 4\n8:0 Total 7\nTotal 7\n",
  );
  assert.deepEqual(m.get("8:0"), { read: 1, write: 2, sync: 3, async: 0, discard: 4, total: 7 });
  assert.equal(m.size, 1);
});

test("readIo v1: all-zero BFQ files → throttle counters per device", () => {
  const { data, errors } = readIo(handleForPath(v1Mounts(), PATH_A));
  assert.deepEqual(errors, []);
  assert.deepEqual(data?.get("8:0"), { readIos: 120, writeIos: 340, readBytes: 491520, writeBytes: 1392640 });
  assert.deepEqual(data?.get("253:0"), { readIos: 5, writeIos: 0, readBytes: 20480, writeBytes: 0 });
});

test("readIo v1: CFQ files win over throttle; merged; service+wait time ns → ms", () => {
  const { data, errors } = readIo(handleForPath(v1Mounts(), PATH_B));
  assert.deepEqual(errors, []);
  assert.deepEqual(data?.get("8:16"), {
    readIos: 10,
    writeIos: 20,
    readBytes: 40960,
    writeBytes: 81920,
    readMerged: 1,
    writeMerged: 4,
    readTimeMs: 4,
    writeTimeMs: 10,
  });
});

test("combineBlkio: a device only in the throttle files is still reported", () => {
  const out = combineBlkio({
    serviced: parseBlkioRecursive("8:0 Read 1\n8:0 Total 1\n"),
    serviceBytes: parseBlkioRecursive("8:0 Read 512\n8:0 Total 512\n"),
    throttleServiced: parseBlkioRecursive("8:0 Read 1\n8:0 Total 1\n8:16 Write 3\n8:16 Total 3\n"),
    throttleServiceBytes: parseBlkioRecursive("8:16 Write 1536\n8:16 Total 1536\n"),
  });
  assert.equal(out.get("8:0")?.readBytes, 512);
  assert.deepEqual(out.get("8:16"), { readIos: 0, writeIos: 3, readBytes: 0, writeBytes: 1536 });
});

test("readIo v2: io.stat; missing io.stat → error, no data", () => {
  const c = readIo(handleForPath(v2Mounts(), PATH_C));
  assert.deepEqual(c.errors, []);
  assert.equal(c.data?.get("8:0")?.writeBytes, 4194304);
  assert.equal(c.data?.get("253:0")?.discardIos, 2);
  const d = readIo(handleForPath(v2Mounts(), PATH_D));
  assert.equal(d.data, undefined);
  assert.match(d.errors.join(), /missing .*io.stat/);
});

test("readPressure: hybrid unified dir and v2 dir; absent files are simply absent", () => {
  const a = readPressure(handleForPath(v1Mounts(), PATH_A));
  assert.match(a.data.cpu ?? "", /^some avg10=1.50 /);
  assert.match(a.data.io ?? "", /^some .*\nfull /);
  const c = readPressure(handleForPath(v2Mounts(), PATH_C));
  assert.match(c.data.memory ?? "", /^some /);
  const d = readPressure(handleForPath(v2Mounts(), PATH_D));
  assert.deepEqual(d, { data: {}, errors: [] });
});

test("parsePressureTotals: some and full totals in µs; a file without a full line (old cpu.pressure)", () => {
  assert.deepEqual(
    parsePressureTotals(
      "some avg10=1.00 avg60=0.50 avg300=0.10 total=123456\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=789\n",
    ),
    { someUs: 123456, fullUs: 789 },
  );
  assert.deepEqual(parsePressureTotals("some avg10=0.00 avg60=0.00 avg300=0.00 total=5\n"), {
    someUs: 5,
    fullUs: undefined,
  });
  assert.deepEqual(parsePressureTotals(""), { someUs: undefined, fullUs: undefined });
  assert.deepEqual(parsePressureTotals("full avg10=0.00 total=x\n"), {
    someUs: undefined,
    fullUs: undefined,
  });
});
