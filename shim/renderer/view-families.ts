/**
 * Each served view as a function of a container's inputs, grouped by family (memory, CPUs, time,
 * load, block I/O, pressure). A function picks the inputs its view needs and hands them to the
 * view's pure renderer (../views); a missing input falls back to the host's field there.
 */
import type { ParsedViewPath, ViewPath } from "../view-paths.js";
import { isCpuDeviceFile, renderCpuDeviceFile } from "../views/cpu-device.js";
import { renderCpuOnline } from "../views/cpu-online.js";
import { renderCpuinfo } from "../views/cpuinfo.js";
import { renderDiskstats } from "../views/diskstats.js";
import { renderLoadavg } from "../views/loadavg.js";
import { renderMeminfo } from "../views/meminfo.js";
import { type PressureResource, renderPressure } from "../views/pressure.js";
import { advanceStatCounters, renderStat, type StatCounters, statReading, USER_HZ } from "../views/stat.js";
import { renderSwaps } from "../views/swaps.js";
import { renderUptime } from "../views/uptime.js";
import type { ContainerInputs } from "./container-inputs.js";

/** One view's text for a container. Throws only on a bug (the caller serves the host's file then). */
type ViewOfContainer = (inputs: ContainerInputs, parsed: ParsedViewPath) => string;

/** A loadavg sample younger than this stands in for a live thread count in stat's procs_running. */
const SAMPLE_FRESH_MS = 10_000;

// Memory

const meminfo: ViewOfContainer = (i) =>
  renderMeminfo({ host: i.host.meminfo(i.at), memory: i.memory(), cacheAsUsed: i.env.cacheAsUsed });

const swaps: ViewOfContainer = (i, p) =>
  renderSwaps(i.memory(), i.host.swapTotalKb(i.at), i.hostText(p.path));

// CPUs

const cpuinfo: ViewOfContainer = (i, p) => {
  const text = renderCpuinfo(i.host.cpuinfo(i.at), i.visibleCpus().visible);
  return text === "" ? i.hostText(p.path) : text;
};

/** online, possible, present: the container's CPUs are 0..n-1. */
const cpuRange: ViewOfContainer = (i) => renderCpuOnline(i.visibleCpus().visible.length);

/** NR_CPUS - 1, a constant of the kernel's build (lscpu sizes its CPU masks by it): the host's says nothing about its CPUs. */
const kernelMax: ViewOfContainer = (i, p) => i.hostText(p.path);

/** A file of a numbered CPU directory (cpuN/online, cpuN/topology/...). */
const cpuDeviceFile: ViewOfContainer = (i, p) => {
  if (p.cpu === undefined || !isCpuDeviceFile(p.cpu.file)) throw new Error(`no renderer for ${p.path}`);
  return renderCpuDeviceFile(p.cpu.file, p.cpu.number, i.visibleCpus().visible.length);
};

// Time

const uptime: ViewOfContainer = (i) => {
  const [up, idle] = i.host.uptime(i.at);
  const { cpu, visible } = i.visibleCpus();
  return renderUptime({
    hostUptimeSec: up,
    hostIdleSec: idle,
    startTicks: i.startTicks(),
    clkTck: USER_HZ,
    visibleCpus: visible.length,
    cpuUsageNs: cpu?.usageNs,
  });
};

const stat: ViewOfContainer = (i) => {
  const { cpu, visible } = i.visibleCpus();
  let counters: StatCounters | undefined;
  if (cpu !== undefined) {
    const [up] = i.host.uptime(i.at);
    const start = i.startTicks();
    const elapsedSec = start === undefined ? up : Math.max(0, up - start / USER_HZ);
    counters = advanceStatCounters(i.state.statCounters, statReading(cpu, visible, elapsedSec * USER_HZ));
    i.state.statCounters = counters;
  }
  // procs_running/blocked: the sampler's count when recent (counting a big container's threads
  // costs one read per thread, too much for every read of /proc/stat), else live.
  const sample = i.loadSample();
  const recent = sample !== undefined && Date.now() - sample.sampledAtMs <= SAMPLE_FRESH_MS;
  return renderStat({ host: i.host.stat(i.at), counters, tasks: recent ? sample : i.tasks() });
};

// Load

const loadavg: ViewOfContainer = (i, p) => {
  const sample = i.loadSample();
  const tasks = sample ?? i.tasks();
  return renderLoadavg({
    loads: sample?.loads,
    running: tasks?.running,
    total: tasks?.total,
    hostText: i.hostText(p.path),
  });
};

// Block I/O

const diskstats: ViewOfContainer = (i) => renderDiskstats(i.host.diskstats(i.at), i.io());

// Pressure

const pressureOf =
  (resource: PressureResource): ViewOfContainer =>
  (i, p) =>
    renderPressure(resource, i.pressure(), i.hostText(p.path));

const VIEWS: Readonly<Record<ViewPath, ViewOfContainer>> = {
  "proc/meminfo": meminfo,
  "proc/swaps": swaps,
  "proc/cpuinfo": cpuinfo,
  "sys/devices/system/cpu/online": cpuRange,
  "sys/devices/system/cpu/possible": cpuRange,
  "sys/devices/system/cpu/present": cpuRange,
  "sys/devices/system/cpu/kernel_max": kernelMax,
  "sys/devices/system/cpu/cpu*/online": cpuDeviceFile,
  "sys/devices/system/cpu/cpu*/topology/core_id": cpuDeviceFile,
  "sys/devices/system/cpu/cpu*/topology/physical_package_id": cpuDeviceFile,
  "sys/devices/system/cpu/cpu*/topology/die_id": cpuDeviceFile,
  "sys/devices/system/cpu/cpu*/topology/thread_siblings": cpuDeviceFile,
  "sys/devices/system/cpu/cpu*/topology/thread_siblings_list": cpuDeviceFile,
  "sys/devices/system/cpu/cpu*/topology/core_cpus": cpuDeviceFile,
  "sys/devices/system/cpu/cpu*/topology/core_cpus_list": cpuDeviceFile,
  "sys/devices/system/cpu/cpu*/topology/core_siblings": cpuDeviceFile,
  "sys/devices/system/cpu/cpu*/topology/core_siblings_list": cpuDeviceFile,
  "sys/devices/system/cpu/cpu*/topology/package_cpus": cpuDeviceFile,
  "sys/devices/system/cpu/cpu*/topology/package_cpus_list": cpuDeviceFile,
  "proc/uptime": uptime,
  "proc/stat": stat,
  "proc/loadavg": loadavg,
  "proc/diskstats": diskstats,
  "proc/pressure/cpu": pressureOf("cpu"),
  "proc/pressure/io": pressureOf("io"),
  "proc/pressure/memory": pressureOf("memory"),
};

/** The view `parsed` for the container of `inputs`. */
export function viewOfContainer(inputs: ContainerInputs, parsed: ParsedViewPath): string {
  return VIEWS[parsed.view](inputs, parsed);
}
