import { readdir, readlink, realpath, stat } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import type { ContainerLabeler } from "../../common/container-labels.js";
import { errnoCode } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import type { ShipConfig } from "./config.js";
import { appFileMeta, describeFile } from "./file-meta.js";
import type { PositionBook } from "./position-book.js";
import type { PositionEntry } from "./positions.js";
import { type ReadLimits, TrackedFile } from "./tracked-file.js";
import type { TruncationHandler } from "./truncation.js";

/** What finding files in the spool (and rotated away from it) needs of the shipper. */
export interface SpoolScanContext {
  readonly config: ShipConfig;
  readonly log: Logger;
  /** The shipper's tracked files by `dev:ino`; new ones are added here. */
  readonly files: Map<string, TrackedFile>;
  readonly book: PositionBook;
  /** The log trees' spools, the log root's first; each with how its files are read. */
  readonly trees: readonly SpoolTree[];
  /** Names containers and their teams (the records' metadata). */
  readonly labeler: ContainerLabeler;
  readonly truncation: Pick<TruncationHandler, "identify" | "restart">;
  /** Opens `f` within the open-files bound. */
  ensureOpen(f: TrackedFile): Promise<boolean>;
  /** Wakes the run loop (a watched file changed). */
  wake(): void;
}

/** One log tree as the shipper reads it: its spool, and how its files are read. */
export interface SpoolTree {
  spool: string;
  limits: ReadLimits;
}

/** Spool discovery: the files the spools link to, and files rotated away from their saved path. */
export class SpoolScanner {
  private readonly missingLogged = new Set<string>();

  constructor(private readonly ctx: SpoolScanContext) {}

  /** Lists the spools, starts tracking new inodes, marks inodes no link points at as orphans. */
  async scan(now: number): Promise<void> {
    const seen = new Set<string>();
    for (const tree of this.ctx.trees) await this.scanTree(tree, now, seen);
    for (const f of this.ctx.files.values()) {
      if (!seen.has(f.key) && f.orphanSince === undefined) {
        f.orphanSince = now;
        this.ctx.log.debug({ file: f.path }, "file left the spool; reading it to the end");
      }
    }
  }

  /** Lists one tree's spool into `seen`. */
  private async scanTree(tree: SpoolTree, now: number, seen: Set<string>): Promise<void> {
    const { spool, limits } = tree;
    let names: string[];
    try {
      names = await readdir(spool);
      this.missingLogged.delete(spool);
    } catch (e) {
      // The trees beside the log root have a spool once the logwatcher found their root.
      if (!this.missingLogged.has(spool) && limits.kind === "app") {
        this.ctx.log.warn({ spool, err: errnoCode(e) }, "cannot list the spool directory; waiting");
      }
      this.missingLogged.add(spool);
      names = [];
    }
    for (const name of names) {
      const link = join(spool, name);
      let st: Awaited<ReturnType<typeof stat>>;
      try {
        st = await stat(link);
      } catch {
        continue; // dangling link: the file is gone (its content was read while open, if it was)
      }
      if (!st.isFile()) continue;
      const key = `${st.dev}:${st.ino}`;
      seen.add(key);
      let f = this.ctx.files.get(key);
      if (!f) {
        let target: string;
        try {
          target = resolve(spool, await readlink(link));
        } catch {
          target = link;
        }
        const meta = describeFile(limits.kind, limits.logRoot, target, name, this.ctx.labeler);
        f = new TrackedFile(st.dev, st.ino, target, meta, limits, now);
        this.ctx.files.set(key, f);
      }
      f.linkNames.add(name);
      f.orphanSince = undefined;
      const sizeBefore = f.size;
      const grew = st.size !== f.size;
      f.size = st.size;
      if (grew && f.fileId === undefined) f.lastGrowthAt = now;
      if (f.fileId === undefined) await this.ctx.truncation.identify(f, now);
      else if (st.size < f.readPos)
        await this.ctx.truncation.restart(f, `size ${st.size} < position ${f.readPos}`, sizeBefore);
      else if (grew && f.fingerprint && (await this.ctx.ensureOpen(f))) {
        if (!(await f.headMatches(f.fingerprint.hash, f.fingerprint.length)))
          await this.ctx.truncation.restart(f, "head rewritten", sizeBefore);
      }
    }
  }

  /**
   * Files that left the spool while the shipper was down (renamed by a rotation) are no longer
   * reachable through a link. Their positions remember the path: a rename rotation keeps the
   * directory, so the same inode is looked for beside it and read to the end.
   */
  async findRotatedAway(now: number): Promise<void> {
    const roots = await Promise.all(
      this.ctx.trees.map(async (t) => ({ tree: t, real: await realpath(t.limits.logRoot).catch(() => "") })),
    );
    // The tree a saved path lies in: the deepest root holding it (the host's /var/log holds /var/log/pods).
    const treeOf = (path: string): SpoolTree | undefined => {
      let best: { tree: SpoolTree; real: string } | undefined;
      for (const r of roots) {
        const rel = r.real ? relative(r.real, path) : "..";
        if (rel.startsWith("..") || rel === "") continue;
        if (!best || r.real.length > best.real.length) best = r;
      }
      return best?.tree;
    };
    const tracked = new Set(this.ctx.files.keys());
    const byDir = new Map<string, (PositionEntry & { id: string })[]>();
    for (const [id, e] of this.ctx.book.positions) {
      if (tracked.has(`${e.dev}:${e.ino}`)) continue;
      const list = byDir.get(dirname(e.path)) ?? [];
      list.push({ ...e, id });
      byDir.set(dirname(e.path), list);
    }
    for (const [dir, entries] of byDir) {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch {
        continue;
      }
      for (const name of names) {
        const p = join(dir, name);
        const st = await stat(p).catch(() => undefined);
        const entry = st && entries.find((e) => e.dev === st.dev && e.ino === st.ino);
        if (!st || !entry || st.size <= entry.offset || this.ctx.files.has(`${st.dev}:${st.ino}`)) continue;
        const tree = treeOf(p);
        if (!tree) continue;
        const { kind, logRoot } = tree.limits;
        const described = describeFile(kind, logRoot, p, "", this.ctx.labeler);
        // A log-root file outside the root was named by its link, which is gone: the saved name.
        const meta = kind === "app" && described.container === "" ? appFileMeta(entry.container) : described;
        const f = new TrackedFile(st.dev, st.ino, p, meta, tree.limits, now);
        if (!(await f.reopen()) || !(await f.headMatches(entry.fpHash, entry.fpLength))) {
          await f.close();
          continue;
        }
        f.size = st.size;
        f.orphanSince = now;
        // The id the position was saved under: a rotated copy read in place of its original keeps
        // the original's identity (recoverFromCopy).
        f.startAt(entry.offset, { hash: entry.fpHash, length: entry.fpLength, settled: true }, entry.id);
        if (this.ctx.book.fromDisk.delete(entry.id)) f.replayUntil = st.size;
        this.ctx.files.set(f.key, f);
        f.watchChanges(() => this.ctx.wake());
        this.ctx.log.info(
          { file: p, was: entry.path, from: entry.offset },
          "found a file rotated away while stopped; reading it to the end",
        );
      }
    }
  }
}
