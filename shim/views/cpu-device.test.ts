import assert from "node:assert/strict";
import { test } from "node:test";
import { CPU_DEVICE_FILES, hexMask, renderCpuDeviceFile } from "./cpu-device.js";

const render = (file: (typeof CPU_DEVICE_FILES)[number], cpu: number, count: number) =>
  renderCpuDeviceFile(file, cpu, count);

test("a CPU directory: online, its own core, one package and die", () => {
  assert.equal(render("online", 2, 4), "1\n");
  assert.equal(render("topology/core_id", 2, 4), "2\n");
  assert.equal(render("topology/physical_package_id", 2, 4), "0\n");
  assert.equal(render("topology/die_id", 2, 4), "0\n");
});

test("a CPU directory: one thread per core, every CPU of the container in the package", () => {
  assert.equal(render("topology/thread_siblings", 2, 4), "4\n");
  assert.equal(render("topology/core_cpus", 2, 4), "4\n");
  assert.equal(render("topology/thread_siblings_list", 2, 4), "2\n");
  assert.equal(render("topology/core_cpus_list", 2, 4), "2\n");
  assert.equal(render("topology/core_siblings", 2, 4), "f\n");
  assert.equal(render("topology/package_cpus", 2, 4), "f\n");
  assert.equal(render("topology/core_siblings_list", 2, 4), "0-3\n");
  assert.equal(render("topology/package_cpus_list", 2, 4), "0-3\n");
  assert.equal(render("topology/core_siblings_list", 0, 1), "0\n");
  assert.equal(render("topology/core_siblings", 0, 1), "1\n");
});

test("every file of a CPU directory has a rendering that names only the container's CPUs", () => {
  for (const file of CPU_DEVICE_FILES) {
    const text = render(file, 1, 2);
    assert.match(text, /^[0-9a-f,-]+\n$/, file);
  }
});

test("cpumask: the kernel's %*pb (32-bit words, highest first, the highest as wide as its bits)", () => {
  assert.equal(hexMask({ lo: 1, hi: 1 }, 2), "2");
  assert.equal(hexMask({ lo: 0, hi: 4 }, 5), "1f");
  assert.equal(hexMask({ lo: 0, hi: 7 }, 8), "ff");
  assert.equal(hexMask({ lo: 0, hi: 31 }, 32), "ffffffff");
  assert.equal(hexMask({ lo: 2, hi: 2 }, 40), "00,00000004");
  assert.equal(hexMask({ lo: 0, hi: 39 }, 40), "ff,ffffffff");
  assert.equal(hexMask({ lo: 35, hi: 35 }, 64), "00000008,00000000");
  assert.equal(hexMask({ lo: 0, hi: 63 }, 64), "ffffffff,ffffffff");
});

test("a CPU past the count (a lookup racing a cut of the container's CPUs) gets a mask wide enough", () => {
  assert.equal(render("topology/thread_siblings", 5, 2), "20\n");
  assert.equal(render("topology/core_siblings", 5, 2), "03\n");
});
