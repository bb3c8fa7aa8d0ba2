import { readdirSync } from "node:fs";
import { containerIdentityFromPath } from "../cgroup/container-id.js";
import { handleForPath } from "../cgroup/handle.js";
import {
  type ContainerCgroup,
  listContainerCgroups,
  listContainerCgroupsAsync,
  listingRoot,
} from "../cgroup/list.js";
import type { CgroupMounts } from "../cgroup/types.js";

/**
 * cgroup/'s container walk, made cheap enough for every scrape. The full walk reads every cgroup
 * directory of the hierarchy (one readdir each: systemd slices, other tools' cgroups...); between
 * full walks only the directories that held containers last time are re-read, which finds new and
 * removed containers there at once. A container under a parent that had none (the first container
 * of a new pod, a new containerd namespace) appears at the next full walk, `fullWalkMs` later at
 * most. kernfs keeps no directory mtime to tell what changed, hence the timer.
 *
 * `walkInBackground()` does the full walk with non-blocking readdirs, off the scrape path: on a
 * host with many non-container cgroups (systemd units, other tools' trees) the synchronous walk
 * grows with every cgroup of the host and lands inside one scrape every `fullWalkMs`. When the
 * background walk keeps up, `list()` only does its cheap re-reads; the synchronous walk stays as
 * the fallback.
 */
const MAX_DEPTH = 8;

export class ContainerLister {
  private lastFullAt = Number.NEGATIVE_INFINITY;
  private root: string | undefined;
  /** Parent path → its container children last seen (path → entry). */
  private parents = new Map<string, Map<string, ContainerCgroup>>();

  constructor(private readonly fullWalkMs: number) {}

  list(mounts: CgroupMounts, now = Date.now()): ContainerCgroup[] {
    const root = listingRoot(mounts);
    if (root === undefined) return [];
    if (root !== this.root || now - this.lastFullAt >= this.fullWalkMs)
      return this.fullWalk(mounts, root, now);
    const out: ContainerCgroup[] = [];
    for (const [parent, known] of this.parents) {
      let names: string[];
      try {
        names = readdirSync(parent === "/" ? root : `${root}${parent}`);
      } catch {
        this.parents.delete(parent); // parent removed (pod gone): its containers with it
        continue;
      }
      const next = new Map<string, ContainerCgroup>();
      for (const name of names) {
        // Every container directory name holds a 64-hex id; control files are shorter: skip them cheaply.
        if (name.length < 64) continue;
        const path = parent === "/" ? `/${name}` : `${parent}/${name}`;
        let entry = known.get(path);
        if (!entry) {
          const identity = containerIdentityFromPath(path);
          if (!identity) continue;
          entry = { path, identity, handle: handleForPath(mounts, path) };
        }
        next.set(path, entry);
        out.push(entry);
      }
      this.parents.set(parent, next);
    }
    return out;
  }

  /** The full walk without blocking the event loop; its result replaces the known parents. */
  async walkInBackground(mounts: CgroupMounts, now = Date.now()): Promise<void> {
    const root = listingRoot(mounts);
    if (root === undefined) return;
    const out = await listContainerCgroupsAsync(mounts, { maxDepth: MAX_DEPTH });
    this.adopt(out, root, now);
  }

  private fullWalk(mounts: CgroupMounts, root: string, now: number): ContainerCgroup[] {
    const list = listContainerCgroups(mounts, { maxDepth: MAX_DEPTH });
    this.adopt(list, root, now);
    return list;
  }

  /** Makes a full walk's result the known parents (keeping known entries' handles). */
  private adopt(list: readonly ContainerCgroup[], root: string, now: number): void {
    const previous = this.parents;
    this.parents = new Map();
    for (const c of list) {
      const slash = c.path.lastIndexOf("/");
      const parent = slash <= 0 ? "/" : c.path.slice(0, slash);
      const m = this.parents.get(parent) ?? new Map<string, ContainerCgroup>();
      m.set(c.path, previous.get(parent)?.get(c.path) ?? c);
      this.parents.set(parent, m);
    }
    this.root = root;
    this.lastFullAt = now;
  }
}
