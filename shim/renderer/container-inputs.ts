/**
 * The inputs of one rendering for one container: its cgroup's readings (each read at most once per
 * share window, controller by controller, only those the view asks for), its start, its load
 * sample, and the host's files. The view families (view-families.ts) take their data from here and
 * hand it to the pure renderers in ../views.
 */
import { readCpu } from "../../cgroup/cpu.js";
import { handleExists } from "../../cgroup/handle.js";
import { readIo } from "../../cgroup/io.js";
import type { LoadavgSample, LoadavgSampler } from "../../cgroup/loadavg/sampler.js";
import { readMemory } from "../../cgroup/memory.js";
import { readPressure } from "../../cgroup/pressure.js";
import { findNamespaceInit, readProcStartTicks } from "../../cgroup/process.js";
import { countTasks, readCgroupPids, readCgroupPidsRecursive } from "../../cgroup/tasks.js";
import type { CpuData, IoData, MemoryData, PressureData, TaskCounts } from "../../cgroup/types.js";
import type { WithErrors } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import type { CacheAsUsed } from "../views/meminfo.js";
import { visibleCpus } from "../visible-cpus.js";
import type { NamespaceInit } from "./callers.js";
import type { ContainerState } from "./container-state.js";
import type { HostFiles } from "./host-files.js";

/** What every rendering shares: where files are, the renderer's options, the host's files. */
export interface RenderEnvironment {
  readonly procRoot: string;
  readonly sysRoot: string;
  readonly windowMs: number;
  readonly cfsQuota: boolean;
  readonly cacheAsUsed: CacheAsUsed;
  readonly sampler: LoadavgSampler | undefined;
  readonly log: Logger | undefined;
  readonly host: HostFiles;
}

/** The CPUs a container sees, and the reading they come from. */
export interface VisibleCpus {
  readonly cpu: CpuData | undefined;
  readonly visible: number[];
}

export class ContainerInputs {
  constructor(
    readonly env: RenderEnvironment,
    readonly state: ContainerState,
    /** The reader's pid namespace's init, when the reader is in a container's namespace. */
    readonly init: NamespaceInit | undefined,
    readonly at: number,
  ) {}

  get host(): HostFiles {
    return this.env.host;
  }

  /** The host's file of a served path, as of this rendering. */
  hostText(path: string): string {
    return this.env.host.text(path, this.at);
  }

  memory(): MemoryData | undefined {
    return this.state.memory.get(this.at, this.window(), () => this.logged(readMemory(this.state.handle)));
  }

  cpu(): CpuData | undefined {
    const { sysRoot } = this.env;
    return this.state.cpu.get(this.at, this.window(), () =>
      this.logged(readCpu(this.state.handle, { sysRoot })),
    );
  }

  io(): IoData | undefined {
    return this.state.io.get(this.at, this.window(), () => this.logged(readIo(this.state.handle)));
  }

  pressure(): PressureData {
    return this.state.pressure.get(this.at, this.window(), () =>
      this.logged(readPressure(this.state.handle)),
    );
  }

  /** Live thread counts by state; undefined once the cgroup is gone. */
  tasks(): TaskCounts | undefined {
    return this.state.tasks.get(this.at, this.window(), () => {
      if (!handleExists(this.state.handle)) return undefined;
      return countTasks(readCgroupPidsRecursive(this.state.handle), this.env.procRoot);
    });
  }

  visibleCpus(): VisibleCpus {
    const cpu = this.cpu();
    return { cpu, visible: visibleCpus(cpu, this.host.online(this.at), { cfsQuota: this.env.cfsQuota }) };
  }

  /** The sampler's last sample of the container, which it follows from now on; undefined without a sampler. */
  loadSample(): LoadavgSample | undefined {
    const { sampler } = this.env;
    if (sampler === undefined) return undefined;
    sampler.track(this.state.handle.path);
    return sampler.get(this.state.handle.path);
  }

  /**
   * The container's start in ticks since boot: its pidns init's start when the reader is in a
   * container's pid namespace, else its oldest process (a cgroup whose processes share the host's
   * pid namespace). Re-validated by start time, so a reused pid never stands for the container.
   */
  startTicks(): number | undefined {
    const c = this.state;
    const { procRoot } = this.env;
    if (this.init !== undefined) {
      c.start = this.init;
      return this.init.startTicks;
    }
    if (c.start !== undefined && readProcStartTicks(c.start.pid, procRoot) === c.start.startTicks) {
      return c.start.startTicks;
    }
    c.start = undefined;
    const members = readCgroupPids(c.handle);
    const first = members[0];
    if (first === undefined) return undefined;
    const nsInit = findNamespaceInit(first, procRoot);
    if (nsInit !== undefined) {
      c.start = { pid: nsInit.initPid, startTicks: nsInit.startTicks };
      return nsInit.startTicks;
    }
    for (const pid of members) {
      const ticks = readProcStartTicks(pid, procRoot);
      if (ticks !== undefined && (c.start === undefined || ticks < c.start.startTicks))
        c.start = { pid, startTicks: ticks };
    }
    return c.start?.startTicks;
  }

  private window(): number {
    return this.state.windowAt(this.at, this.env.windowMs);
  }

  /** A reading's data; what it could not read is logged (the views fill those fields from the host's). */
  private logged<T>(r: WithErrors<T>): T {
    if (r.errors.length > 0)
      this.env.log?.debug(
        { cgroup: this.state.handle.path, errors: r.errors },
        "cgroup read incomplete; host values fill in",
      );
    return r.data;
  }
}
