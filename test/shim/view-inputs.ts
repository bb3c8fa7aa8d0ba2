import type {
  CpuData,
  HostCpuinfo,
  HostMeminfo,
  HostStat,
  MemoryData,
  MemoryStat,
} from "../../cgroup/types.js";

/** Hand-built inputs shaped like the readers' output on cgroup v1 and v2, for renderer unit tests. */
export const HOST_MEMINFO_TEXT = `MemTotal:       24684092 kB
MemFree:        23542912 kB
MemAvailable:   24169920 kB
Buffers:           19108 kB
Cached:           773020 kB
SwapCached:            0 kB
Active:           196920 kB
Inactive:         679856 kB
Active(anon):       1576 kB
Inactive(anon):    91948 kB
Active(file):     195344 kB
Inactive(file):   587908 kB
Unevictable:       17952 kB
Mlocked:           17020 kB
SwapTotal:       2097148 kB
SwapFree:        2000000 kB
Dirty:              9188 kB
Writeback:             0 kB
AnonPages:        102704 kB
Mapped:            20752 kB
Shmem:              8856 kB
KReclaimable:     102824 kB
Slab:             128096 kB
SReclaimable:     102824 kB
SUnreclaim:        25272 kB
VmallocTotal:   34359738367 kB
HugePages_Total:       0
Hugepagesize:       2048 kB
`;

export function hostMeminfo(text = HOST_MEMINFO_TEXT): HostMeminfo {
  return {
    entries: text
      .trim()
      .split("\n")
      .map((line) => {
        const m = /^([^:]+):\s+(\d+)( kB)?$/.exec(line);
        if (!m) throw new Error(`bad fixture line ${line}`);
        return { key: m[1] as string, value: Number(m[2]), kb: m[3] !== undefined };
      }),
  };
}

const MiB = 1024 * 1024;

export function memStat(over: Partial<MemoryStat> = {}): MemoryStat {
  return {
    cache: 100 * MiB,
    activeAnon: 30 * MiB,
    inactiveAnon: 20 * MiB,
    activeFile: 60 * MiB,
    inactiveFile: 40 * MiB,
    unevictable: 0,
    shmem: 4 * MiB,
    mapped: 8 * MiB,
    dirty: 1 * MiB,
    writeback: 0,
    rss: 50 * MiB,
    raw: new Map(),
    ...over,
  };
}

export function memoryV1(over: Partial<MemoryData> = {}): MemoryData {
  return {
    version: 1,
    limitBytes: 256 * MiB,
    usageBytes: 150 * MiB,
    swapLimitBytes: 0,
    swapUsageBytes: 0,
    stat: memStat(),
    oomKills: 0,
    oomEvents: 0,
    ...over,
  };
}

export function memoryV2(over: Partial<MemoryData> = {}): MemoryData {
  return {
    version: 2,
    limitBytes: 512 * MiB,
    usageBytes: 200 * MiB,
    swapLimitBytes: null,
    swapUsageBytes: 10 * MiB,
    stat: memStat({ slab: 6 * MiB, slabReclaimable: 4 * MiB, slabUnreclaimable: 2 * MiB }),
    oomKills: 0,
    oomEvents: 0,
    ...over,
  };
}

export function cpuV2(over: Partial<CpuData> = {}): CpuData {
  return {
    version: 2,
    cpuset: [0, 1, 2, 3],
    quotaCpus: null,
    usageNs: 40e9,
    userNs: 30e9,
    systemNs: 10e9,
    perCpu: undefined,
    ...over,
  };
}

export function cpuV1(over: Partial<CpuData> = {}): CpuData {
  return {
    version: 1,
    cpuset: [0, 1],
    quotaCpus: null,
    usageNs: 6e9,
    userNs: 4e9,
    systemNs: 2e9,
    perCpu: [
      { userNs: 3e9, systemNs: 1e9 },
      { userNs: 1e9, systemNs: 1e9 },
    ],
    ...over,
  };
}

export function hostStat(cpus = 4): HostStat {
  const perCpu = new Map<number, number[]>();
  for (let c = 0; c < cpus; c++) perCpu.set(c, [100 + c, 0, 50, 10000, 3, 0, 1, 0, 0, 0]);
  const total = new Array(10).fill(0);
  for (const r of perCpu.values()) {
    r.forEach((v, j) => {
      total[j] += v;
    });
  }
  return {
    total,
    perCpu,
    other: [
      { key: "intr", rest: "213643 0 0" },
      { key: "ctxt", rest: "458177" },
      { key: "btime", rest: "1795605152" },
      { key: "processes", rest: "7257" },
      { key: "procs_running", rest: "7" },
      { key: "procs_blocked", rest: "0" },
      { key: "softirq", rest: "1 2 3" },
    ],
  };
}

export function hostCpuinfo(cpus: number): HostCpuinfo {
  const processors = new Map<number, string[]>();
  for (let c = 0; c < cpus; c++) {
    processors.set(c, [
      `processor\t: ${c}`,
      "vendor_id\t: AuthenticAMD",
      `core id\t\t: ${c}`,
      "power management:",
    ]);
  }
  return { processors };
}
