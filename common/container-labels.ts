import { readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { z } from "zod";
import { BoxscopeError, errnoCode, UsageError } from "./errors.js";
import type { Logger } from "./logger.js";

/**
 * Who a container is and which team owns it, for the exporter's series and the log pipeline's
 * records: Docker's metadata on disk and the operator's mapping file. Shared by both parts.
 */

const requireCjs = createRequire(import.meta.url);

/**
 * yaml loads when a mapping file is read: `boxscope ship` labels its records with this module and
 * must not pay for yaml (some 230 modules) when no mapping file is configured.
 */
function parseYaml(text: string): unknown {
  return (requireCjs("yaml") as typeof import("yaml")).parse(text);
}

/** What identifies a container here: its id, and its pod's uid when Kubernetes runs it. */
export interface ContainerKey {
  readonly id: string;
  readonly podUid?: string | undefined;
}

/** The label values every container series carries ("" when unknown). */
export type ContainerLabels = Readonly<{ container_id: string; container_name: string; team: string }>;

/** Where the owning team comes from, first match wins: docker label, mapping file. */
export const teamSourcesSchema = z
  .strictObject({
    dockerLabel: z.string().default("team"),
    /** Label key read from the mapping file's `pods.<uid>.labels` (the API server is not reachable). */
    podLabel: z.string().default("team"),
    /** YAML mapping file (see docs/metrics.md); empty = none. */
    mappingFile: z.string().default(""),
  })
  .default({ dockerLabel: "team", podLabel: "team", mappingFile: "" });

/** A configured mapping file must parse at start: one clear error naming `key`, not a silent "". */
export function checkTeamMapping(path: string, key: string): void {
  if (path === "") return;
  try {
    parseTeamMapping(readFileSync(path, "utf8"), path);
  } catch (e) {
    if (!errnoCode(e)) throw new UsageError("BXS_CONFIG_INVALID", `${key}: ${(e as Error).message}`);
    throw new UsageError("BXS_CONFIG_FILE_UNREADABLE", `${key}: cannot read ${path} (${errnoCode(e)})`);
  }
}

export interface LabelSourcesConfig {
  readonly dockerRoot: string;
  readonly team: { readonly dockerLabel: string; readonly podLabel: string; readonly mappingFile: string };
}

/** Docker's per-container metadata on disk: the parts boxscope reads. Pure. */
export function parseDockerConfig(text: string): { name: string; labels: Record<string, string> } {
  const doc = JSON.parse(text) as { Name?: unknown; Config?: { Labels?: unknown } };
  const name = typeof doc.Name === "string" ? doc.Name.replace(/^\//, "") : "";
  const labels: Record<string, string> = {};
  const raw = doc.Config?.Labels;
  if (raw && typeof raw === "object") {
    for (const [k, v] of Object.entries(raw)) if (typeof v === "string") labels[k] = v;
  }
  return { name, labels };
}

/**
 * The mapping file for what is not on disk (Kubernetes pod labels: the API server is not reachable
 * from the exporter by design). YAML:
 *   teams: { <container id | 12-hex id prefix | container name | pod uid>: <team> }
 *   pods:  { <pod uid>: { name: <pod name>, labels: { <key>: <value> } } }
 */
export interface TeamMapping {
  readonly teams: ReadonlyMap<string, string>;
  readonly pods: ReadonlyMap<string, { name: string; labels: Record<string, string> }>;
}

export function parseTeamMapping(text: string, path: string): TeamMapping {
  const doc = (parseYaml(text) ?? {}) as Record<string, unknown>;
  if (typeof doc !== "object" || Array.isArray(doc))
    throw new BoxscopeError("BXS_CONFIG_INVALID", `${path}: expected a mapping`, { context: { path } });
  const unknown = Object.keys(doc).filter((k) => k !== "teams" && k !== "pods");
  if (unknown.length > 0)
    throw new BoxscopeError(
      "BXS_CONFIG_INVALID",
      `${path}: unknown key "${unknown[0]}" (expected teams, pods)`,
      {
        context: { path },
      },
    );
  const teams = new Map<string, string>();
  for (const [k, v] of Object.entries((doc.teams ?? {}) as Record<string, unknown>)) teams.set(k, String(v));
  const pods = new Map<string, { name: string; labels: Record<string, string> }>();
  for (const [uid, v] of Object.entries((doc.pods ?? {}) as Record<string, unknown>)) {
    const pod = (v ?? {}) as { name?: unknown; labels?: Record<string, unknown> };
    const labels: Record<string, string> = {};
    for (const [lk, lv] of Object.entries(pod.labels ?? {})) labels[lk] = String(lv);
    pods.set(uid, { name: typeof pod.name === "string" ? pod.name : "", labels });
  }
  return { teams, pods };
}

const RECHECK_MS = 30_000;

interface DockerEntry {
  /** When to stat config.v2.json again. */
  due: number;
  /** Its mtime when parsed; undefined = no readable file. */
  readonly mtime: number | undefined;
  readonly name: string;
  readonly labels: Record<string, string>;
}

/** 15–30 s, fixed per id (from its first hex digits), so re-checks spread over scrapes. */
function recheckDelayMs(id: string): number {
  const spread = Number.parseInt(id.slice(0, 4), 16);
  return RECHECK_MS / 2 + (Number.isFinite(spread) ? (spread / 0x10000) * (RECHECK_MS / 2) : 0);
}

/**
 * Resolves container_name and team for a container id: Docker's config.v2.json (Name, the team
 * label), then the mapping file (by id, id prefix, name, pod uid; pod labels). Docker files are
 * cached per id and re-checked every 15–30 s (renames are rare): a stat, and a re-read + parse only
 * when the mtime changed. The re-check time is spread by id because containers seen in one scrape
 * (all of them at start) would otherwise all fall due in the same later scrape: 500 reads and JSON
 * parses of config.v2.json at once, a latency spike every 30 s. The mapping file is re-read when
 * its mtime changes. Synchronous so the kernel-log OOM path can label a kill the moment it
 * happens, before a recreated container replaces the metadata.
 */
export class ContainerLabeler {
  private readonly docker = new Map<string, DockerEntry>();
  private mapping: TeamMapping = { teams: new Map(), pods: new Map() };
  private mappingMtime = -1;
  private mappingCheckedAt = -1;

  constructor(
    private readonly cfg: LabelSourcesConfig,
    private readonly logger: Logger,
  ) {}

  /** Drops cache entries of containers not in `liveIds` (bounded memory under churn). */
  retain(liveIds: ReadonlySet<string>): void {
    for (const id of this.docker.keys()) if (!liveIds.has(id)) this.docker.delete(id);
  }

  labelsFor(identity: ContainerKey | undefined, fallbackId: string, now = Date.now()): ContainerLabels {
    if (!identity)
      return {
        container_id: fallbackId,
        container_name: "",
        team: this.teamFromMapping(fallbackId, "", undefined, now),
      };
    const d = this.dockerMeta(identity.id, now);
    const name = d.name || d.labels["io.kubernetes.container.name"] || "";
    const team =
      d.labels[this.cfg.team.dockerLabel] ?? this.teamFromMapping(identity.id, name, identity.podUid, now);
    return { container_id: identity.id, container_name: name, team };
  }

  /**
   * Labels for a container no cgroup listing shows, known only by a key (the log directory of a
   * removed container, or of one outside exporter.cgroupPrefix): a 64-hex key is its id (Docker's
   * metadata names it and its team while it is on disk), anything else its name. The mapping file
   * may name the team of either.
   */
  labelsForUnlisted(key: string, now = Date.now()): ContainerLabels {
    if (/^[0-9a-f]{64}$/.test(key)) return this.labelsFor({ id: key }, key, now);
    return { container_id: "", container_name: key, team: this.teamFromMapping("", key, undefined, now) };
  }

  /**
   * The team of a Kubernetes container known by its pod and name (a CRI log file's path says no
   * container id): the mapping file, by pod uid, the pod's team label, or the container name.
   */
  teamOfPodContainer(podUid: string, containerName: string, now = Date.now()): string {
    return this.teamFromMapping("", containerName, podUid, now);
  }

  private teamFromMapping(id: string, name: string, podUid: string | undefined, now: number): string {
    this.refreshMapping(now);
    const t = this.mapping.teams;
    const byPod = podUid
      ? (t.get(podUid) ?? this.mapping.pods.get(podUid)?.labels[this.cfg.team.podLabel])
      : undefined;
    const byId = id ? (t.get(id) ?? t.get(id.slice(0, 12))) : undefined;
    return byId ?? (name ? t.get(name) : undefined) ?? byPod ?? "";
  }

  private dockerMeta(id: string, now: number): { name: string; labels: Record<string, string> } {
    const cached = this.docker.get(id);
    if (cached && now < cached.due) return cached;
    const path = join(this.cfg.dockerRoot, "containers", id, "config.v2.json");
    const due = now + recheckDelayMs(id);
    let mtime: number | undefined;
    try {
      mtime = statSync(path).mtimeMs;
    } catch {
      // Not a Docker container, or Docker already removed it: no name/labels from Docker.
    }
    if (cached && mtime === cached.mtime) {
      cached.due = due;
      return cached;
    }
    let entry: DockerEntry = { due, mtime, name: "", labels: {} };
    if (mtime !== undefined) {
      try {
        entry = { due, mtime, ...parseDockerConfig(readFileSync(path, "utf8")) };
      } catch {
        // Removed between stat and read, or half-written: no name/labels this time; re-read next check.
        entry = { due, mtime: undefined, name: "", labels: {} };
      }
    }
    this.docker.set(id, entry);
    return entry;
  }

  private refreshMapping(now: number): void {
    const path = this.cfg.team.mappingFile;
    if (path === "" || now - this.mappingCheckedAt < 1000) return;
    this.mappingCheckedAt = now;
    try {
      const mtime = statSync(path).mtimeMs;
      if (mtime === this.mappingMtime) return;
      this.mapping = parseTeamMapping(readFileSync(path, "utf8"), path);
      this.mappingMtime = mtime;
    } catch (e) {
      // Keep the last good mapping: a half-written file must not strip every team label.
      this.logger.warn({ err: e, path }, "team mapping file unreadable; keeping the previous mapping");
    }
  }
}
