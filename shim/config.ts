import { createHash } from "node:crypto";
import { resolve } from "node:path";
import { z } from "zod";
import type { ViewRendererOptions } from "./render.js";
import type { CacheAsUsed } from "./views/meminfo.js";

/**
 * The `shim` section of boxscope.yaml (env `BOXSCOPE_SHIM_<KEY>`, flags on `shim render` / `shim
 * mount`). Views keys here; the mount adds its own keys beside them.
 */
export const shimConfigSchema = z.strictObject({
  /** Count CPUs from the CFS quota (ceil(quota/period)); `--no-cfs-quota` turns it off. */
  cfsQuota: z.boolean().default(true),
  /** How much page cache meminfo counts as used: none, active_file, or percent (of Cached). */
  cacheAsUsed: z.enum(["none", "active_file", "percent"]).default("none"),
  /** The percentage for cacheAsUsed: percent. */
  cacheAsUsedPercent: z.number().min(0).max(100).default(50),
  /** Reads of one container within this many ms share one reading of its files. */
  shareWindowMs: z.number().int().min(0).max(10_000).default(100),
  /** `shim mount`: where the views are mounted (LXCFS's layout below it). */
  mountpoint: z.string().min(1).default("/var/lib/boxscope"),
  /**
   * `shim mount`: how long (ms) the FUSE threads re-serve bytes already rendered for the same pid
   * namespace + cgroup without asking the JavaScript thread; 0 = ask on every open.
   */
  mountCacheMs: z.number().int().min(0).max(10_000).default(100),
  /**
   * `shim mount`: how long (µs) a FUSE loop thread polls for the next request before it sleeps. A
   * reader's requests come in bursts; waking a sleeping thread on an idle (virtual) CPU costs more
   * than the request itself on many VMs. 0 = never poll.
   */
  mountSpinUs: z.number().int().min(0).max(1000).default(20),
  /** `shim mount`: FUSE loop threads; 1 is enough (the loop never waits for JavaScript). */
  mountThreads: z.number().int().min(1).max(256).default(1),
  /** `shim mount`: extra FUSE mount options (comma-separated), added to ro,allow_other. */
  mountOptions: z.string().default(""),
  /**
   * `shim mount`: on start, replace binds of a dead daemon's files in running containers' mount
   * namespaces with the live files, so they recover without a restart.
   */
  mountHealStale: z.boolean().default(true),
  /**
   * `shim mount`: the unix socket on which the running daemon hands its live FUSE connection to a
   * new one (an upgrade without failed reads: docs/shim.md). "auto": one per mountpoint under
   * /run/boxscope; "" or "off": no handover (a new daemon finds the mountpoint busy).
   */
  mountHandoverSocket: z.string().default("auto"),
});
export type ShimConfig = z.infer<typeof shimConfigSchema>;

export function cacheAsUsedOf(cfg: Pick<ShimConfig, "cacheAsUsed" | "cacheAsUsedPercent">): CacheAsUsed {
  return cfg.cacheAsUsed === "percent"
    ? { mode: "percent", percent: cfg.cacheAsUsedPercent }
    : { mode: cfg.cacheAsUsed };
}

/** The view renderer's options from the `shim` section (the mount adds mounts, sampler, logger). */
export function viewRendererOptionsOf(
  cfg: Pick<ShimConfig, "cfsQuota" | "cacheAsUsed" | "cacheAsUsedPercent" | "shareWindowMs">,
): Pick<ViewRendererOptions, "cfsQuota" | "cacheAsUsed" | "shareWindowMs"> {
  return { cfsQuota: cfg.cfsQuota, cacheAsUsed: cacheAsUsedOf(cfg), shareWindowMs: cfg.shareWindowMs };
}

/** Where "auto" puts the handover socket of a mountpoint (beside the shim's other runtime state). */
export const HANDOVER_SOCKET_DIR = "/run/boxscope";

/** The handover socket of the mount (config mountHandoverSocket), or undefined when off. */
export function handoverSocketOf(
  cfg: Pick<ShimConfig, "mountpoint" | "mountHandoverSocket">,
): string | undefined {
  const v = cfg.mountHandoverSocket;
  if (v === "" || v === "off") return undefined;
  if (v !== "auto") return resolve(v);
  // A name per mountpoint: daemons of two mountpoints never ask each other. A hash keeps the path
  // within a unix socket's 107 bytes whatever the mountpoint.
  const id = createHash("sha256").update(resolve(cfg.mountpoint)).digest("hex").slice(0, 16);
  return `${HANDOVER_SOCKET_DIR}/shim-${id}.sock`;
}
