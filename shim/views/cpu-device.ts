/**
 * The files of a container's CPU directory /sys/devices/system/cpu/cpu<i>/ (i renumbered from 0,
 * like cpuinfo), for a container that sees `count` CPUs. The topology is the container's own, not
 * the host's: each CPU a core of its own, all in one package (die 0). A container's CPUs are a
 * cpuset slice or a quota's worth of time, whose hyperthread siblings and packages on the host are
 * rarely all its own; the host's masks and ids would also name the host's CPU numbers. So lscpu
 * shows `count` cores, 1 thread per core, 1 socket, and sysstat's mpstat -T one socket.
 */
export const CPU_DEVICE_FILES = [
  "online",
  "topology/core_id",
  "topology/physical_package_id",
  "topology/die_id",
  "topology/thread_siblings",
  "topology/thread_siblings_list",
  "topology/core_cpus",
  "topology/core_cpus_list",
  "topology/core_siblings",
  "topology/core_siblings_list",
  "topology/package_cpus",
  "topology/package_cpus_list",
] as const;
export type CpuDeviceFile = (typeof CPU_DEVICE_FILES)[number];

export function isCpuDeviceFile(file: string): file is CpuDeviceFile {
  return (CPU_DEVICE_FILES as readonly string[]).includes(file);
}

export function renderCpuDeviceFile(file: CpuDeviceFile, cpu: number, count: number): string {
  // A CPU past the count (a reader that looked it up just before the container's CPUs were cut)
  // still gets a consistent answer: masks are as wide as the CPUs they name.
  const bits = Math.max(1, count, cpu + 1);
  const all = { lo: 0, hi: Math.max(1, count) - 1 };
  const self = { lo: cpu, hi: cpu };
  switch (file) {
    case "online":
      return "1\n";
    case "topology/core_id":
      return `${cpu}\n`;
    case "topology/physical_package_id":
    case "topology/die_id":
      return "0\n";
    case "topology/thread_siblings":
    case "topology/core_cpus":
      return `${hexMask(self, bits)}\n`;
    case "topology/thread_siblings_list":
    case "topology/core_cpus_list":
      return `${rangeList(self)}\n`;
    case "topology/core_siblings":
    case "topology/package_cpus":
      return `${hexMask(all, bits)}\n`;
    case "topology/core_siblings_list":
    case "topology/package_cpus_list":
      return `${rangeList(all)}\n`;
  }
}

interface Range {
  readonly lo: number;
  readonly hi: number;
}

const rangeList = (r: Range): string => (r.lo === r.hi ? `${r.lo}` : `${r.lo}-${r.hi}`);

/**
 * The kernel's cpumask format (`%*pb` over `bits` bits): 32-bit words in hex, highest first,
 * separated by commas; the highest word as many digits as its bits need, the others eight.
 */
export function hexMask(r: Range, bits: number): string {
  const words = Math.ceil(bits / 32);
  const out: string[] = [];
  for (let w = words - 1; w >= 0; w--) {
    let word = 0;
    for (let b = 0; b < 32; b++) {
      const cpu = w * 32 + b;
      if (cpu >= r.lo && cpu <= r.hi) word = (word | (1 << b)) >>> 0;
    }
    const wordBits = w === words - 1 ? bits - w * 32 : 32;
    out.push(word.toString(16).padStart(Math.ceil(wordBits / 4), "0"));
  }
  return out.join(",");
}
