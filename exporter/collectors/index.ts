import type { LoadavgSampler } from "../../cgroup/loadavg/sampler.js";
import type { ContainerLabeler } from "../../common/container-labels.js";
import type { Logger } from "../../common/logger.js";
import type { Collector } from "../collector.js";
import type { ExporterConfig } from "../config.js";
import type { ContainerSource } from "../containers.js";
import { resolveKeyProcesses } from "../key-process-rules.js";
import { LogDirOwners } from "../log-owner.js";
import type { KmsgSource } from "../sources/kmsg.js";
import { conntrackCollector } from "./conntrack.js";
import { containerCpuCollector } from "./container-cpu.js";
import { containerInfoCollector } from "./container-info.js";
import { containerIoCollector } from "./container-io.js";
import { containerLoadCollector } from "./container-load.js";
import { containerMemoryCollector } from "./container-memory.js";
import { containerNetworkCollector } from "./container-network.js";
import { containerOomCollector } from "./container-oom.js";
import { containerPidsCollector } from "./container-pids.js";
import { containerPressureCollector } from "./container-pressure.js";
import { containerStartCollector } from "./container-start.js";
import { healthCollector } from "./health.js";
import { hostPidsCollector } from "./host-pids.js";
import { keyProcessesCollector } from "./key-processes.js";
import { logPartitionCollector } from "./log-partition.js";
import { kernelRuleSet, logPatternsCollector } from "./log-patterns.js";

/** What a collector factory may use; shared sources are built once by the exporter. */
export interface CollectorContext {
  readonly config: ExporterConfig;
  readonly logger: Logger;
  readonly containers: ContainerSource;
  readonly labeler: ContainerLabeler;
  /** The single kernel-log reader, absent when exporter.kmsg is off. */
  readonly kmsg: KmsgSource | undefined;
  /** The process's load-average sampler (shared with the shim under `boxscope up`). */
  readonly loadavg: LoadavgSampler;
}

/** A log line's owner is looked up in a container listing at most this old (a scrape's, usually). */
const OWNER_LIST_MAX_AGE_MS = 5000;

/**
 * The collector list. Adding a collector = one file under collectors/ plus one line here; the
 * runner, the server and the other collectors are untouched.
 */
export const COLLECTORS: ReadonlyArray<(ctx: CollectorContext) => Collector> = [
  () => hostPidsCollector(),
  (ctx) => conntrackCollector(ctx.logger),
  (ctx) => logPartitionCollector(ctx.config.logRoot, ctx.logger),
  (ctx) => keyProcessesCollector(resolveKeyProcesses(ctx.config), ctx.logger),
  (ctx) => {
    const owners = new LogDirOwners(
      ctx.config.logRoot,
      (now) => ctx.containers.recent(OWNER_LIST_MAX_AGE_MS, now),
      ctx.labeler,
    );
    return logPatternsCollector(
      {
        fileRules: ctx.config.logRules,
        kernelRules: kernelRuleSet(ctx.config.kernelPatterns, ctx.config.kernelRules),
        pollMs: ctx.config.logPollMs,
        logRoot: ctx.config.logRoot,
        ownerOf: (path) => owners.ownerOf(path),
        onCollect: () => owners.prune(),
      },
      ctx.kmsg,
      ctx.logger,
    );
  },
  (ctx) => containerInfoCollector(ctx.containers),
  (ctx) => containerPidsCollector(ctx.containers),
  (ctx) => containerMemoryCollector(ctx.containers, ctx.config.cacheAsUsed),
  (ctx) => containerCpuCollector(ctx.containers),
  (ctx) => containerOomCollector(ctx.containers, ctx.labeler, ctx.kmsg),
  (ctx) => containerLoadCollector(ctx.containers, ctx.loadavg),
  (ctx) => containerNetworkCollector(ctx.containers),
  (ctx) => containerIoCollector(ctx.containers),
  (ctx) => containerPressureCollector(ctx.containers),
  (ctx) => containerStartCollector(ctx.containers),
  () => healthCollector(),
];
