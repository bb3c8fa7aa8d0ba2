import assert from "node:assert/strict";
import { test } from "node:test";
import { cpuV1, cpuV2, hostCpuinfo } from "../../test/shim/view-inputs.js";
import { visibleCpus } from "../visible-cpus.js";
import { renderCpuOnline } from "./cpu-online.js";
import { renderCpuinfo } from "./cpuinfo.js";

const host12 = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];

test("visible CPUs: cpuset 0-3,8,10-11 without quota is all seven, in order", () => {
  const cpu = cpuV2({ cpuset: [0, 1, 2, 3, 8, 10, 11] });
  assert.deepEqual(visibleCpus(cpu, host12, { cfsQuota: true }), [0, 1, 2, 3, 8, 10, 11]);
});

test("visible CPUs: quota limits to the first ceil(quota) of the cpuset, unless switched off", () => {
  const cpu = cpuV2({ cpuset: [0, 1, 2, 3, 8, 10, 11], quotaCpus: 2.5 });
  assert.deepEqual(visibleCpus(cpu, host12, { cfsQuota: true }), [0, 1, 2]);
  assert.deepEqual(visibleCpus(cpu, host12, { cfsQuota: false }), [0, 1, 2, 3, 8, 10, 11]);
  assert.deepEqual(
    visibleCpus(cpuV2({ cpuset: [8, 10], quotaCpus: 2 }), host12, { cfsQuota: true }),
    [8, 10],
  );
});

test("visible CPUs: quota below one CPU still shows one CPU", () => {
  assert.deepEqual(visibleCpus(cpuV2({ cpuset: [3, 5], quotaCpus: 0.5 }), host12, { cfsQuota: true }), [3]);
  assert.deepEqual(visibleCpus(cpuV2({ cpuset: [], quotaCpus: 0.01 }), host12, { cfsQuota: true }), [0]);
});

test("visible CPUs: no cpu data, empty cpuset or offline CPUs fall back to the host's online CPUs", () => {
  assert.deepEqual(visibleCpus(undefined, [0, 1], { cfsQuota: true }), [0, 1]);
  assert.deepEqual(visibleCpus(cpuV2({ cpuset: [] }), [0, 1], { cfsQuota: true }), [0, 1]);
  assert.deepEqual(visibleCpus(cpuV2({ cpuset: [1, 7] }), [0, 1], { cfsQuota: true }), [1]);
  assert.deepEqual(visibleCpus(cpuV1({ cpuset: [6, 7] }), [0, 1], { cfsQuota: true }), [0, 1]);
});

test("cpuinfo keeps the visible processors, renumbered from 0, blank line after each", () => {
  const text = renderCpuinfo(hostCpuinfo(12), [8, 10, 11]);
  assert.equal(
    text,
    [8, 10, 11]
      .map((h, i) => `processor\t: ${i}\nvendor_id\t: AuthenticAMD\ncore id\t\t: ${h}\npower management:\n\n`)
      .join(""),
  );
  assert.equal(renderCpuinfo(hostCpuinfo(2), [5]), "", "a CPU the host does not list is skipped");
});

test("cpu online list (and possible, present) is 0-(n-1), or 0 for one CPU", () => {
  assert.equal(renderCpuOnline(1), "0\n");
  assert.equal(renderCpuOnline(7), "0-6\n");
  assert.equal(renderCpuOnline(0), "0\n");
});
