import assert from "node:assert/strict";
import { test } from "node:test";
import type { HostDiskstat, IoDeviceStat } from "../../cgroup/types.js";
import { memoryV1, memoryV2 } from "../../test/shim/view-inputs.js";
import { renderDiskstats } from "./diskstats.js";
import { renderPressure } from "./pressure.js";
import { renderSwaps, SWAPS_HEADER } from "./swaps.js";
import { formatCentis, renderUptime } from "./uptime.js";

const MiB = 1024 * 1024;

test("uptime: now − init start, idle summed over visible CPUs, kernel format", () => {
  const text = renderUptime({
    hostUptimeSec: 1000.57,
    hostIdleSec: 1900.1,
    startTicks: 90000,
    visibleCpus: 2,
    cpuUsageNs: 3.5e9,
  });
  assert.equal(text, "100.57 197.64\n");
});

test("uptime never negative; idle clamped at 0; missing inputs give the host's", () => {
  const t = renderUptime({
    hostUptimeSec: 10,
    hostIdleSec: 5,
    startTicks: 2000,
    visibleCpus: 1,
    cpuUsageNs: 0,
  });
  assert.equal(t, "0.00 0.00\n");
  const busy = renderUptime({
    hostUptimeSec: 20,
    hostIdleSec: 5,
    startTicks: 1000,
    visibleCpus: 1,
    cpuUsageNs: 50e9,
  });
  assert.equal(busy, "10.00 0.00\n");
  assert.equal(
    renderUptime({
      hostUptimeSec: 595.11,
      hostIdleSec: 1113.53,
      startTicks: undefined,
      visibleCpus: 2,
      cpuUsageNs: undefined,
    }),
    "595.11 1113.53\n",
  );
  assert.equal(
    renderUptime({
      hostUptimeSec: 100,
      hostIdleSec: 150,
      startTicks: undefined,
      visibleCpus: 2,
      cpuUsageNs: 5e9,
    }),
    "100.00 195.00\n",
    "start unknown: host uptime, idle still over the visible CPUs",
  );
  assert.equal(formatCentis(0.29), "0.29");
  assert.equal(formatCentis(12.999), "12.99");
});

const host: HostDiskstat[] = [
  { major: 7, minor: 0, name: "loop0", fields: new Array(17).fill(0) },
  {
    major: 254,
    minor: 0,
    name: "vda",
    fields: [
      59885, 9181, 2900930, 24294, 11939, 24535, 3807144, 11619, 0, 5740, 36290, 3683, 58, 151760, 336, 1304,
      40,
    ],
  },
  { major: 259, minor: 0, name: "nvme0n1", fields: new Array(17).fill(1) },
];
const io = (s: Partial<IoDeviceStat>): IoDeviceStat => ({
  readIos: 0,
  writeIos: 0,
  readBytes: 0,
  writeBytes: 0,
  ...s,
});

test("diskstats without io data is the host's file in the kernel's layout", () => {
  const text = renderDiskstats(host, undefined);
  assert.equal(
    text.split("\n")[1],
    " 254       0 vda 59885 9181 2900930 24294 11939 24535 3807144 11619 0 5740 36290 3683 58 151760 336 1304 40",
  );
  assert.equal(text.split("\n")[0], "   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0");
});

test("diskstats v2 (io.stat): only touched devices, bytes → sectors, 17 fields", () => {
  const data = new Map([
    [
      "254:0",
      io({
        readIos: 10,
        writeIos: 4,
        readBytes: 40960,
        writeBytes: 8192 + 100,
        discardIos: 1,
        discardBytes: 1024,
      }),
    ],
    ["259:0", io({})],
    ["8:0", io({ readIos: 1 })],
  ]);
  assert.equal(renderDiskstats(host, data), " 254       0 vda 10 0 80 0 4 0 16 0 0 0 0 1 0 2 0 0 0\n");
  assert.equal(renderDiskstats(host, new Map()), "", "a container that did no I/O lists no device");
});

test("diskstats v1 (blkio): merges and times, field count follows the host kernel", () => {
  const data = new Map([
    [
      "254:0",
      io({
        readIos: 3,
        writeIos: 5,
        readBytes: 1536,
        writeBytes: 5120,
        readMerged: 1,
        writeMerged: 2,
        readTimeMs: 7,
        writeTimeMs: 9,
      }),
    ],
  ]);
  assert.equal(renderDiskstats(host, data), " 254       0 vda 3 1 3 7 5 2 10 9 0 16 16 0 0 0 0 0 0\n");
  const old = [{ major: 8, minor: 0, name: "sda", fields: new Array(11).fill(0) }];
  const line = renderDiskstats(old, new Map([["8:0", io({ readIos: 1 })]]));
  assert.equal(line, "   8       0 sda 1 0 0 0 0 0 0 0 0 0 0\n");
});

const HOST_SWAPS = `${SWAPS_HEADER}/dev/vdb                                partition\t2097148\t\t0\t\t-2\n`;

test("swaps: container swap as one virtual entry; none → header only; unknown → host", () => {
  assert.equal(
    renderSwaps(memoryV1({ swapLimitBytes: 64 * MiB, swapUsageBytes: 16 * MiB }), 2097148, HOST_SWAPS),
    `${SWAPS_HEADER}none                                    virtual\t65536\t\t16384\t\t-1\n`,
  );
  assert.equal(renderSwaps(memoryV1({ swapLimitBytes: 0 }), 2097148, HOST_SWAPS), SWAPS_HEADER);
  assert.equal(renderSwaps(memoryV2(), 0, HOST_SWAPS), SWAPS_HEADER, "unlimited swap on a host without swap");
  assert.equal(renderSwaps(undefined, 2097148, HOST_SWAPS), HOST_SWAPS);
  const over = renderSwaps(
    memoryV1({ swapLimitBytes: 64 * MiB, swapUsageBytes: 99 * MiB }),
    2097148,
    HOST_SWAPS,
  );
  assert.match(over, /virtual\t65536\t\t65536\t\t-1\n$/);
});

test("pressure: the cgroup's file, else the host's", () => {
  const own =
    "some avg10=1.00 avg60=0.00 avg300=0.00 total=5\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";
  assert.equal(renderPressure("cpu", { cpu: own }, "host\n"), own);
  assert.equal(renderPressure("io", { cpu: own }, "host\n"), "host\n");
});
