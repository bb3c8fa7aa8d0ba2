/**
 * Finds container cgroups by walking one hierarchy (v1 memory, else the unified one): every cgroup
 * whose path names a container (container-id.ts). The walk does not descend below a container's
 * directory (its sub-cgroups belong to it), is bounded in depth, and tolerates directories that
 * vanish mid-walk (containers stopping). Cost: one readdir per non-container cgroup.
 */
import { type Dirent, readdirSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { containerIdentityFromPath } from "./container-id.js";
import { handleForPath } from "./handle.js";
import type { CgroupHandle, CgroupMounts, ContainerIdentity } from "./types.js";

export interface ContainerCgroup {
  /** Path inside the hierarchy, e.g. `/docker/<id>`. */
  readonly path: string;
  readonly identity: ContainerIdentity;
  readonly handle: CgroupHandle;
}

export interface ListOptions {
  /** Maximum directory depth below the hierarchy root. Default 8 (k8s systemd paths are 4 deep). */
  readonly maxDepth?: number;
}

/** The mount point walked: the v1 memory hierarchy, else the unified one. */
export function listingRoot(mounts: CgroupMounts): string | undefined {
  return mounts.v1.get("memory") ?? mounts.unified;
}

export function listContainerCgroups(mounts: CgroupMounts, options: ListOptions = {}): ContainerCgroup[] {
  const root = listingRoot(mounts);
  if (root === undefined) return [];
  const maxDepth = options.maxDepth ?? 8;
  const out: ContainerCgroup[] = [];
  const walk = (dir: string, path: string, depth: number): void => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // vanished or unreadable: skip this subtree
    }
    for (const next of classifyEntries(mounts, entries, dir, path, out)) {
      if (depth + 1 < maxDepth) walk(next.dir, next.path, depth + 1);
    }
  };
  walk(root, "/", 0);
  return out;
}

/**
 * The same walk with fs/promises and sibling subtrees read concurrently, for periodic listings
 * that must not block the event loop (the exporter's background walk).
 */
export async function listContainerCgroupsAsync(
  mounts: CgroupMounts,
  options: ListOptions = {},
): Promise<ContainerCgroup[]> {
  const root = listingRoot(mounts);
  if (root === undefined) return [];
  const maxDepth = options.maxDepth ?? 8;
  const out: ContainerCgroup[] = [];
  const walk = async (dir: string, path: string, depth: number): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return; // vanished or unreadable: skip this subtree
    }
    const below = classifyEntries(mounts, entries, dir, path, out)
      .filter(() => depth + 1 < maxDepth)
      .map((next) => walk(next.dir, next.path, depth + 1));
    await Promise.all(below);
  };
  await walk(root, "/", 0);
  return out;
}

/** Pushes the containers among `entries` onto `out`; returns the other directories to descend. */
function classifyEntries(
  mounts: CgroupMounts,
  entries: Dirent[],
  dir: string,
  path: string,
  out: ContainerCgroup[],
): Array<{ dir: string; path: string }> {
  const descend: Array<{ dir: string; path: string }> = [];
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const childPath = path === "/" ? `/${e.name}` : `${path}/${e.name}`;
    const identity = containerIdentityFromPath(childPath);
    if (identity !== undefined)
      out.push({ path: childPath, identity, handle: handleForPath(mounts, childPath) });
    else descend.push({ dir: join(dir, e.name), path: childPath });
  }
  return descend;
}
