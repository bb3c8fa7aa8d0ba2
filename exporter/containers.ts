import { readCgroupMounts } from "../cgroup/mounts.js";
import type { CgroupHandle, ContainerIdentity } from "../cgroup/types.js";
import { CgroupFileCache } from "./cgroup-files.js";
import { ContainerLister } from "./container-list.js";
import {
  type ContainerCpu,
  type ContainerMemory,
  type ContainerPids,
  ContainerReaders,
} from "./container-readers.js";
import type { ContainerLabeler, ContainerLabels } from "./labels.js";

/** A live container as every container collector sees it in one scrape. */
export interface LiveContainer {
  readonly path: string;
  readonly identity: ContainerIdentity;
  readonly handle: CgroupHandle;
  readonly labels: ContainerLabels;
}

/**
 * Lists container cgroups once per scrape for all container collectors (they ask with the scrape
 * id; the first ask walks the hierarchy, the others share it). Built fresh each scrape, so series
 * of vanished containers disappear.
 */
export class ContainerSource {
  /** This scrape's list, and memory data read during it (by cgroup path). */
  private cached:
    | { scrapeId: number; list: LiveContainer[]; memory: Map<string, ContainerMemory | undefined> }
    | undefined;
  /** The latest listing, whoever asked for it (see recent()). */
  private last: { at: number; list: LiveContainer[] } | undefined;
  private readonly files = new CgroupFileCache();
  private readonly readers = new ContainerReaders(this.files);

  private readonly lister: ContainerLister;
  private readonly walkTimer: NodeJS.Timeout | undefined;
  private walking: Promise<void> | undefined;

  constructor(
    private readonly labeler: ContainerLabeler,
    private readonly cgroupPrefix: string,
    fullWalkMs: number,
  ) {
    this.lister = new ContainerLister(fullWalkMs);
    if (fullWalkMs > 0) {
      // Full walks in the background, a little more often than list() would do one itself, so the
      // scrape only re-reads the known parents (see ContainerLister).
      this.walkTimer = setInterval(() => this.walkInBackground(), fullWalkMs * 0.9);
      this.walkTimer.unref();
    }
  }

  private walkInBackground(): void {
    if (this.walking) return;
    this.walking = Promise.resolve()
      .then(() => this.lister.walkInBackground(readCgroupMounts()))
      .catch(() => {}) // mounts unreadable this time: list()'s own walk still runs when due
      .finally(() => {
        this.walking = undefined;
      });
  }

  containers(scrapeId: number): LiveContainer[] {
    if (this.cached?.scrapeId === scrapeId) return this.cached.list;
    this.readers.beginScrape(scrapeId);
    const list = this.listNow();
    this.cached = { scrapeId, list, memory: new Map() };
    return list;
  }

  /**
   * The containers as of at most `maxAgeMs` ago, for lookups between scrapes (which container
   * owns a log directory): the last scrape's list when recent enough, else a fresh listing.
   */
  recent(maxAgeMs: number, now = Date.now()): readonly LiveContainer[] {
    if (this.last && now - this.last.at < maxAgeMs) return this.last.list;
    return this.listNow(now);
  }

  private listNow(now = Date.now()): LiveContainer[] {
    // Mounts rarely change, but re-reading them costs one small file and survives remounts.
    const list = this.lister
      .list(readCgroupMounts())
      .filter((c) => this.cgroupPrefix === "" || c.path.startsWith(this.cgroupPrefix))
      .map((c) => ({ ...c, labels: this.labeler.labelsFor(c.identity, c.identity.id) }));
    this.labeler.retain(new Set(list.map((c) => c.identity.id)));
    this.last = { at: now, list };
    return list;
  }

  /** Memory data of a listed container, read once per scrape (memory and OOM collectors share it). */
  memory(c: LiveContainer): ContainerMemory | undefined {
    const read = this.cached?.memory;
    if (read?.has(c.path)) return read.get(c.path);
    const data = this.readers.memory(c.handle);
    read?.set(c.path, data);
    return data;
  }

  cpu(c: LiveContainer): ContainerCpu | undefined {
    return this.readers.cpu(c.handle);
  }

  pids(c: LiveContainer): ContainerPids | undefined {
    return this.readers.pids(c.handle);
  }

  /** Stops the background walk and closes the cached descriptors (exporter stop). */
  close(): void {
    if (this.walkTimer) clearInterval(this.walkTimer);
    this.files.close();
  }
}

export const CONTAINER_LABEL_NAMES = ["container_id", "container_name", "team"] as const;
