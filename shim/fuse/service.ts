import type { Registry } from "prom-client";
import { createCgroupLoadavgSampler } from "../../cgroup/loadavg/cgroups.js";
import type { LoadavgSampler } from "../../cgroup/loadavg/sampler.js";
import { readCgroupMounts } from "../../cgroup/mounts.js";
import type { Logger } from "../../common/logger.js";
import { cacheAsUsedOf, handoverSocketOf, type ShimConfig } from "../config.js";
import type { FuseBinding } from "../native/binding.js";
import { createViewRenderer, VIEW_PATHS, type ViewRenderer } from "../render.js";
import { fdStoreOf } from "./fdstore.js";
import { registerShimMetrics } from "./metrics.js";
import { type RunningShimMount, startShimMount, type ViewSource } from "./mount.js";

/** Per-container renderer state unused this long is dropped (containers come and go). */
const FORGET_IDLE_EVERY_MS = 60_000;

/**
 * The shim as a service for `boxscope shim mount` and `boxscope up`: the view renderer, the
 * per-container load-average sampler and the FUSE mount serving VIEW_PATHS. Under `boxscope up`
 * the sampler is the process's one (deps.sampler, shared with the exporter so a container's load
 * metric and its /proc/loadavg are the same numbers), started and stopped by `up`; alone, the shim
 * makes, starts and stops its own.
 */
export async function startShim(
  cfg: ShimConfig,
  deps: { logger: Logger; registry?: Registry; binding?: FuseBinding; sampler?: LoadavgSampler },
): Promise<RunningShimMount> {
  const logger = deps.logger;
  const mounts = readCgroupMounts();
  const ownSampler = deps.sampler === undefined;
  const sampler = deps.sampler ?? createCgroupLoadavgSampler({ mounts, logger });
  const renderer = createViewRenderer({
    mounts,
    cfsQuota: cfg.cfsQuota,
    cacheAsUsed: cacheAsUsedOf(cfg),
    shareWindowMs: cfg.shareWindowMs,
    sampler,
    logger,
  });
  if (ownSampler) sampler.start();
  const forget = setInterval(() => renderer.forgetIdle(), FORGET_IDLE_EVERY_MS).unref();
  let mount: RunningShimMount;
  try {
    mount = await startShimMount(
      {
        mountpoint: cfg.mountpoint,
        files: VIEW_PATHS,
        cacheTtlMs: cfg.mountCacheMs,
        threads: cfg.mountThreads,
        spinUs: cfg.mountSpinUs,
        mountOptions: cfg.mountOptions,
        healStale: cfg.mountHealStale,
        handoverSocket: handoverSocketOf(cfg),
        fdStore: fdStoreOf(process.env, process.pid),
      },
      { logger, source: toViewSource(renderer), ...(deps.binding ? { binding: deps.binding } : {}) },
    );
  } catch (e) {
    clearInterval(forget);
    if (ownSampler) await sampler.stop();
    throw e;
  }
  if (deps.registry) registerShimMetrics(deps.registry, mount.stats, mount.repaired);
  return {
    ...mount,
    async stop() {
      clearInterval(forget);
      await mount.stop();
      if (ownSampler) await sampler.stop();
    },
  };
}

/**
 * The renderer as the mount's view source (the mount turns a throw, an unknown view, into EIO for
 * that one open and logs the cause once). A settling container's bytes are not cached.
 */
export function toViewSource(renderer: ViewRenderer): ViewSource {
  return (path, caller) => {
    const served = renderer.renderForCaller(path, caller);
    return served.shareable ? served.text : { uncached: served.text };
  };
}
