import type { Registry } from "prom-client";
import { registerRunningTotal } from "../../common/registry.js";
import type { NativeStats } from "../native/binding.js";

/**
 * The mount's counters, read from the native binding at scrape time (its atomics are the source of
 * truth; nothing is counted twice on the JavaScript thread).
 */
export function registerShimMetrics(
  registry: Registry,
  stats: () => NativeStats,
  repaired: () => { rebound: number; failed: number },
): void {
  const counter = (name: string, help: string, value: () => number): void =>
    registerRunningTotal(registry, name, help, value);
  counter("boxscope_shim_opens_total", "Opens of view files through the FUSE mount.", () => stats().opens);
  counter(
    "boxscope_shim_cache_hits_total",
    "GETATTR/OPEN requests answered from the C-side cache without JavaScript.",
    () => stats().cacheHits,
  );
  counter(
    "boxscope_shim_renders_total",
    "Renderings asked of JavaScript (cache misses).",
    () => stats().renders,
  );
  counter(
    "boxscope_shim_render_errors_total",
    "Requests answered with an error (a view threw, or the daemon was stopping).",
    () => stats().renderErrors,
  );
  counter(
    "boxscope_shim_stale_binds_repaired_total",
    "Dead bind mounts of an earlier daemon replaced in running containers at start.",
    () => repaired().rebound,
  );
  counter(
    "boxscope_shim_stale_binds_unrepaired_total",
    "Dead bind mounts of an earlier daemon that could not be replaced (restart those containers).",
    () => repaired().failed,
  );
}
