import { readdir, readlink, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { errnoCode } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import type { ShipConfig } from "./config.js";
import { containerFor } from "./container.js";
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
  /** The limits every TrackedFile reads with. */
  readonly readLimits: ReadLimits;
  readonly truncation: Pick<TruncationHandler, "identify" | "restart">;
  /** Opens `f` within the open-files bound. */
  ensureOpen(f: TrackedFile): Promise<boolean>;
  /** Wakes the run loop (a watched file changed). */
  wake(): void;
}

/** Spool discovery: the files the spool links to, and files rotated away from their saved path. */
export class SpoolScanner {
  private spoolMissingLogged = false;

  constructor(private readonly ctx: SpoolScanContext) {}

  /** Lists the spool, starts tracking new inodes, marks inodes no link points at as orphans. */
  async scan(now: number): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.ctx.config.spool);
      this.spoolMissingLogged = false;
    } catch (e) {
      if (!this.spoolMissingLogged) {
        this.ctx.log.warn(
          { spool: this.ctx.config.spool, err: errnoCode(e) },
          "cannot list the spool directory; waiting",
        );
        this.spoolMissingLogged = true;
      }
      names = [];
    }
    const seen = new Set<string>();
    for (const name of names) {
      const link = join(this.ctx.config.spool, name);
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
          target = resolve(this.ctx.config.spool, await readlink(link));
        } catch {
          target = link;
        }
        f = new TrackedFile(
          st.dev,
          st.ino,
          target,
          containerFor(this.ctx.config.logRoot, target, name),
          this.ctx.readLimits,
          now,
        );
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
    for (const f of this.ctx.files.values()) {
      if (!seen.has(f.key) && f.orphanSince === undefined) {
        f.orphanSince = now;
        this.ctx.log.debug({ file: f.path }, "file left the spool; reading it to the end");
      }
    }
  }

  /**
   * Files that left the spool while the shipper was down (renamed by a rotation) are no longer
   * reachable through a link. Their positions remember the path: a rename rotation keeps the
   * directory, so the same inode is looked for beside it and read to the end.
   */
  async findRotatedAway(now: number): Promise<void> {
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
        const f = new TrackedFile(st.dev, st.ino, p, entry.container, this.ctx.readLimits, now);
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
