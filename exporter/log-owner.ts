import { realpathSync } from "node:fs";
import { isAbsolute, relative, sep } from "node:path";
import type { ContainerLabeler, ContainerLabels } from "../common/container-labels.js";
import type { LiveContainer } from "./containers.js";

/** Labels of lines that belong to no container (the kernel log, files outside the log root). */
export const NO_CONTAINER: ContainerLabels = { container_id: "", container_name: "", team: "" };

/**
 * The container directory a log file lies in: the log root's layout is
 * `<logRoot>/<containerDir>/**` (docs/logwatcher.md), so it is the first path component below
 * the root. undefined for files outside the root or directly in it. Pure.
 */
export function logDirOf(logRoot: string, path: string): string | undefined {
  const rel = relative(logRoot, path);
  if (rel === "" || rel.startsWith("..") || isAbsolute(rel)) return undefined;
  const cut = rel.indexOf(sep);
  return cut > 0 ? rel.slice(0, cut) : undefined;
}

const HEX_ID = /^[0-9a-f]{12,64}$/;

/**
 * The live container a log directory is named after: its full id, an id prefix of at least 12 hex
 * digits (Docker's short id), or its name when exactly one live container has it (Kubernetes
 * container names repeat across pods: an ambiguous name owns nothing). Pure.
 */
export function containerOfLogDir(
  dir: string,
  containers: ReadonlyArray<Pick<LiveContainer, "labels">>,
): ContainerLabels | undefined {
  if (HEX_ID.test(dir)) {
    const byId = containers.filter((c) => c.labels.container_id.startsWith(dir));
    if (byId.length === 1) return byId[0]?.labels;
  }
  const byName = containers.filter((c) => c.labels.container_name === dir);
  return byName.length === 1 ? byName[0]?.labels : undefined;
}

/** How long a directory's owner is trusted before it is looked up again. */
const OWNER_TTL_MS = 10_000;

/**
 * Names the container that owns a log file, for the labels of its log-pattern matches. Listed
 * containers first (containerOfLogDir); a directory no listed container claims (the container is
 * gone, or runs outside the exporter's cgroupPrefix) keeps what its name says: a 64-hex name is
 * the container id (Docker's metadata, if still on disk, gives its name and team), anything else
 * is the container name; the team mapping file can name its team either way. Lookups are cached
 * per directory for 10 s, and only directories with matching lines are ever looked up, so a
 * chatty container costs one lookup per 10 s, not one per line.
 */
export class LogDirOwners {
  private readonly cache = new Map<string, { labels: ContainerLabels; at: number }>();
  /** The log root with symlinks resolved: the tailer names files by their real path. */
  private realRoot: string | undefined;

  constructor(
    private readonly logRoot: string,
    private readonly listContainers: (now: number) => readonly LiveContainer[],
    private readonly labeler: ContainerLabeler,
  ) {}

  ownerOf(path: string, now = Date.now()): ContainerLabels {
    const dir = logDirOf(this.logRoot, path) ?? logDirOf(this.resolvedRoot(), path);
    if (dir === undefined) return NO_CONTAINER;
    const hit = this.cache.get(dir);
    if (hit && now - hit.at < OWNER_TTL_MS) return hit.labels;
    const labels =
      containerOfLogDir(dir, this.listContainers(now)) ?? this.labeler.labelsForUnlisted(dir, now);
    this.cache.set(dir, { labels, at: now });
    return labels;
  }

  private resolvedRoot(): string {
    if (this.realRoot === undefined) {
      try {
        this.realRoot = realpathSync(this.logRoot);
      } catch {
        return this.logRoot; // not there (yet): nothing below it is read either
      }
    }
    return this.realRoot;
  }

  /** Forgets stale lookups (bounded memory however many directories once had matches). */
  prune(now = Date.now()): void {
    for (const [dir, e] of this.cache) if (now - e.at >= OWNER_TTL_MS) this.cache.delete(dir);
  }
}
