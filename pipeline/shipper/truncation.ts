import { dirname } from "node:path";
import type { Logger } from "../../common/logger.js";
import type { ShipConfig } from "./config.js";
import type { Fingerprint } from "./fingerprint.js";
import type { ShipMetrics } from "./metrics.js";
import type { PositionBook } from "./position-book.js";
import type { PositionEntry } from "./positions.js";
import { findRotatedCopy } from "./rotated-copy.js";
import { TrackedFile, type UnreadContent } from "./tracked-file.js";

/** Content of a tracked file that a truncation or rewrite took away, and where reading it stopped. */
interface LostContent extends UnreadContent {
  fileId: string;
  fingerprint: Fingerprint;
  /** Records of the copy starting before this offset carry `replayed: true`. */
  replayUntil: number;
}

/** What identifying files and recovering from truncations needs of the shipper. */
export interface TruncationContext {
  readonly config: ShipConfig;
  readonly log: Logger;
  readonly metrics: Pick<
    ShipMetrics,
    "truncations" | "truncationUnreadBytes" | "truncationUnreadLines" | "truncationUncountedBytes"
  >;
  /** The shipper's tracked files by `dev:ino`; a recovered rotated copy is added here. */
  readonly files: Map<string, TrackedFile>;
  readonly book: PositionBook;
  /** Opens `f` within the open-files bound. */
  ensureOpen(f: TrackedFile): Promise<boolean>;
  /** Starts watching an identified file and records its position. */
  track(f: TrackedFile): void;
}

/**
 * Naming a file (fingerprint + saved position) and what happens when its content goes away under
 * the shipper: truncation, copytruncate, a rewrite, or an inode reused while stopped.
 * rotated-copy.ts holds the pure search for the copy; this is the stateful side.
 */
export class TruncationHandler {
  constructor(private readonly ctx: TruncationContext) {}

  /**
   * Truncation, copytruncate or a rewritten file: what was not read yet is looked for in the
   * rotated copy (recoverFromCopy), then the file starts again from byte 0 as a new generation.
   * `sizeBefore` is the size the file had at the previous check.
   */
  async restart(f: TrackedFile, why: string, sizeBefore: number): Promise<void> {
    const lost: LostContent | undefined =
      f.fileId !== undefined && f.fingerprint
        ? {
            fileId: f.fileId,
            fingerprint: f.fingerprint,
            ...f.unread(sizeBefore),
            replayUntil: f.replayUntil,
          }
        : undefined;
    f.reset();
    if (lost) await this.recoverFromCopy(f, lost, why);
    await this.identify(f, Date.now());
  }

  /**
   * `f` no longer holds `lost` (truncated or rewritten in place, e.g. logrotate copytruncate). The
   * bytes past `lost.from` may exist only in the copy: when a copy is found beside the file (same
   * head, long enough; pipeline/shipper/rotated-copy.ts), it is read from `lost.from` to its end
   * under the old identity, so every record keeps the (fileId, offset), hence the document id, a
   * normal read would have given it. The old identity's position moves to the copy, so a restart
   * meanwhile finds it there (findRotatedAway). Without a copy, the loss is logged and counted.
   */
  private async recoverFromCopy(f: TrackedFile, lost: LostContent, why: string): Promise<void> {
    const now = Date.now();
    const fp = lost.fingerprint;
    // The same head again: the old and new content are indistinguishable by identity.
    const sameHead = await f.headMatches(fp.hash, fp.length);
    const copy = sameHead
      ? undefined
      : await findRotatedCopy(
          dirname(f.path),
          { dev: f.dev, ino: f.ino, fpHash: fp.hash, fpLength: fp.length, from: lost.from },
          (dev, ino) => this.ctx.files.has(`${dev}:${ino}`),
        );
    const entry = this.ctx.book.positions.get(lost.fileId);
    if (copy) {
      const c = new TrackedFile(copy.dev, copy.ino, copy.path, f.meta, f.limits, now);
      // Opened at once: a `compress` right after the copy may delete it; the open handle still reads.
      if (await c.reopen()) {
        c.size = copy.size;
        c.orphanSince = now;
        c.startAt(lost.from, { ...fp, settled: true }, lost.fileId);
        c.replayUntil = lost.replayUntil;
        this.ctx.files.set(c.key, c);
        const moved: PositionEntry = {
          dev: copy.dev,
          ino: copy.ino,
          fpHash: fp.hash,
          fpLength: fp.length,
          offset: entry?.offset ?? lost.from,
          path: copy.path,
          container: f.container,
          seenAt: now,
        };
        this.ctx.book.track(lost.fileId, moved);
        this.ctx.metrics.truncations.inc({ rotated_copy: "found" });
        // Written after the copy was made and before the truncation (the copytruncate race): the
        // shipper had seen these bytes but the copy lacks them; their lines are not known.
        const beyondCopy = lost.countedEnd + lost.uncountedBytes - copy.size;
        if (beyondCopy > 0) {
          this.ctx.metrics.truncationUncountedBytes.inc(beyondCopy);
          this.ctx.log.warn(
            { file: f.path, copy: copy.path, copySize: copy.size, lostBytes: beyondCopy },
            `file truncated after its rotated copy was made: ${beyondCopy} bytes written in between are lost (lines not known)`,
          );
        }
        this.ctx.log.info(
          { file: f.path, reason: why, copy: copy.path, from: lost.from, copySize: copy.size },
          "file truncated or rewritten; reading what it held past the last read from its rotated copy, then the file from the start",
        );
        return;
      }
      await c.close();
    }
    this.ctx.book.drop(lost.fileId);
    const bytes = Math.max(0, lost.countedEnd - lost.from);
    this.ctx.metrics.truncations.inc({ rotated_copy: "missing" });
    this.ctx.metrics.truncationUnreadBytes.inc(bytes);
    this.ctx.metrics.truncationUnreadLines.inc(lost.lines);
    this.ctx.metrics.truncationUncountedBytes.inc(lost.uncountedBytes);
    const uncounted =
      lost.uncountedBytes > 0
        ? ` and ${lost.uncountedBytes} more bytes whose lines were not counted yet`
        : "";
    this.ctx.log.warn(
      {
        file: f.path,
        reason: why,
        position: lost.from,
        lostBytes: bytes,
        lostLines: lost.lines,
        uncountedBytes: lost.uncountedBytes,
        sameHead,
      },
      `file truncated or rewritten and no rotated copy found beside it${sameHead ? " (its new content starts like the old one, so a copy cannot be told apart)" : ""}: ${lost.lines} lines (${bytes} bytes) not read yet are lost${uncounted} (and any written after the last size check); reading it again from the start`,
    );
  }

  /** Fingerprints the file and finds its position (or starts it fresh). */
  async identify(f: TrackedFile, now: number): Promise<void> {
    if (!(await this.ctx.ensureOpen(f))) return;
    const head = await f.readHead();
    if (!head) {
      // Empty: nothing to name it by yet; but if it had content before, its rotated copy is read now
      // rather than when the application next writes.
      await this.recoverStale(f);
      return;
    }
    // A short first line without its newline may still grow: wait for it unless it sits idle.
    if (!head.settled && now - f.lastGrowthAt < this.ctx.config.partialFlushMs) return;
    for (const [id, entry] of this.ctx.book.positions) {
      if (entry.dev !== f.dev || entry.ino !== f.ino) continue;
      if (!(await f.headMatches(entry.fpHash, entry.fpLength))) continue;
      const offset = f.size < entry.offset ? 0 : entry.offset;
      if (offset !== entry.offset)
        this.ctx.log.warn(
          { file: f.path, size: f.size, position: entry.offset },
          "file shorter than its position; reading it from the start",
        );
      f.startAt(offset, { hash: entry.fpHash, length: entry.fpLength, settled: true });
      // Resumed from the positions file: what lies between it and the size now may have been sent.
      if (this.ctx.book.fromDisk.delete(id)) f.replayUntil = f.size;
      if (f.fileId !== id) this.ctx.book.positions.delete(id);
      this.ctx.track(f);
      return;
    }
    await this.recoverStale(f);
    const atEnd =
      this.ctx.config.startAt === "end" ||
      (this.ctx.book.recoverMode === "end" && f.firstSeenAt <= this.ctx.book.firstScanEndedAt);
    f.startAt(atEnd ? f.size : 0, head);
    // --positions-recover=start: everything present at start may have been sent before.
    if (this.ctx.book.recoverMode === "start" && f.firstSeenAt <= this.ctx.book.firstScanEndedAt)
      f.replayUntil = f.size;
    this.ctx.track(f);
    this.ctx.log.info({ file: f.path, container: f.container, from: f.readPos }, "tracking new file");
  }

  /**
   * Positions of `f`'s inode that its content no longer matches: truncated or rewritten while the
   * shipper was down (or the inode reused). The newest one's unread part may sit in a rotated copy;
   * older ones are dropped (their content is gone from this inode).
   */
  private async recoverStale(f: TrackedFile): Promise<void> {
    const stale = [...this.ctx.book.positions]
      .filter(([, e]) => e.dev === f.dev && e.ino === f.ino)
      .sort(([, a], [, b]) => b.seenAt - a.seenAt);
    for (const [id] of stale.slice(1)) this.ctx.book.drop(id);
    const newest = stale[0];
    if (!newest) return;
    const [id, e] = newest;
    await this.recoverFromCopy(
      f,
      {
        fileId: id,
        fingerprint: { hash: e.fpHash, length: e.fpLength, settled: true },
        from: e.offset,
        // Whatever was written past the saved position happened while the shipper was down.
        countedEnd: e.offset,
        lines: 0,
        uncountedBytes: 0,
        replayUntil: this.ctx.book.fromDisk.delete(id) ? Number.POSITIVE_INFINITY : 0,
      },
      "truncated, rewritten or inode reused since its position was saved",
    );
  }
}
