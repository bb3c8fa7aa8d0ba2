/**
 * Where the cgroup hierarchies are mounted, from /proc/<pid>/mountinfo (proc(5)): v1 hierarchies
 * carry their controllers in the super options (`rw,cpu,cpuacct`, `rw,name=systemd`), cgroup2 has
 * none there; its controllers come from `<mount>/cgroup.controllers`.
 */
import { join } from "node:path";
import { readQuiet } from "./fsread.js";
import type { CgroupMounts } from "./types.js";

/** Non-controller super options the kernel prints on v1 cgroup mounts. */
const V1_NON_CONTROLLER_OPTIONS = new Set([
  "rw",
  "ro",
  "noprefix",
  "clone_children",
  "xattr",
  "cpuset_v2_mode",
  "favordynmods",
]);

/** mountinfo escapes space, tab, newline and backslash as \040 \011 \012 \134. */
export function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)));
}

/**
 * Parses mountinfo text. The first mount seen for a controller wins (later ones are usually bind
 * mounts of the same hierarchy). `unifiedControllers` is left empty: it is not in mountinfo
 * (readCgroupMounts fills it from cgroup.controllers).
 */
export function parseMountinfo(text: string): CgroupMounts {
  const v1 = new Map<string, string>();
  let unified: string | undefined;
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(" ");
    const right = line.slice(sep + 3).split(" ");
    const mountPoint = left[4];
    const fsType = right[0];
    const superOptions = right[2] ?? "";
    if (mountPoint === undefined) continue;
    const mp = unescapeMountPath(mountPoint);
    if (fsType === "cgroup2") {
      unified ??= mp;
    } else if (fsType === "cgroup") {
      for (const opt of superOptions.split(",")) {
        if (opt === "" || V1_NON_CONTROLLER_OPTIONS.has(opt) || opt.startsWith("release_agent=")) continue;
        if (!v1.has(opt)) v1.set(opt, mp);
      }
    }
  }
  return { v1, unified, unifiedControllers: new Set() };
}

/** Parses cgroup.controllers (`cpuset cpu io memory hugetlb pids rdma misc`). */
export function parseControllerList(text: string): Set<string> {
  return new Set(text.split(/\s+/).filter((w) => w !== ""));
}

export interface ReadMountsOptions {
  /**
   * Prefix prepended to every mount point found (for fixture trees: mountinfo says
   * /sys/fs/cgroup/memory, the files live under <prefix>/sys/fs/cgroup/memory). Default "".
   */
  readonly pathPrefix?: string;
}

/**
 * Reads <procRoot>/self/mountinfo and the unified hierarchy's controllers. Never throws: an
 * unreadable mountinfo gives no mounts (every controller then reads as unavailable).
 */
export function readCgroupMounts(procRoot = "/proc", options: ReadMountsOptions = {}): CgroupMounts {
  const prefix = options.pathPrefix ?? "";
  const text = readQuiet(join(procRoot, "self/mountinfo")) ?? "";
  const parsed = parseMountinfo(text);
  const v1 = new Map<string, string>();
  for (const [ctrl, mp] of parsed.v1) v1.set(ctrl, prefix + mp);
  const unified = parsed.unified === undefined ? undefined : prefix + parsed.unified;
  const controllersText = unified === undefined ? undefined : readQuiet(join(unified, "cgroup.controllers"));
  const unifiedControllers = parseControllerList(controllersText ?? "");
  // A controller bound to a v1 hierarchy cannot be active on cgroup2 at the same time.
  for (const ctrl of v1.keys()) unifiedControllers.delete(ctrl);
  return { v1, unified, unifiedControllers };
}
