import { closeSync, openSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";
import type { Counter } from "prom-client";
import { makeDirs } from "../../common/dirs.js";
import { BoxscopeError, errnoCode } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import { errorText } from "../kafka/backoff.js";
import type { ShipConfig } from "./config.js";
import { loadPositions, type PositionEntry, type Positions, savePositions } from "./positions.js";
import type { TrackedFile } from "./tracked-file.js";

/** What the book needs of the ship configuration. */
export type PositionBookConfig = Pick<ShipConfig, "positions" | "positionsRecover" | "forgetAfterMs">;

/**
 * The shipper's in-memory positions and the bookkeeping around writing them down. Owned by one
 * Shipper; the spool scan and the truncation handling read and update it through the same object,
 * so "dirty" and "newly tracked" are seen by the run loop whoever set them.
 */
export class PositionBook {
  positions: Positions = new Map();
  /** Ids of positions loaded at start and not resumed yet: bytes past them may have been sent. */
  readonly fromDisk = new Set<string>();
  recoverMode: "start" | "end" | undefined;
  /** Files first seen before this instant were present at start (for `--positions-recover=end`). */
  firstScanEndedAt = Number.POSITIVE_INFINITY;
  dirty = false;
  newlyTracked = false;
  lastPersistAt = Date.now();

  constructor(
    private readonly config: PositionBookConfig,
    private readonly log: Logger,
    private readonly writeErrors: Counter,
  ) {}

  load(): void {
    makeDirs(dirname(this.config.positions), "ship positions directory");
    assertWritable(this.config.positions);
    const res = loadPositions(this.config.positions, this.config.positionsRecover);
    if (res.kind === "loaded") {
      this.positions = res.positions;
      for (const id of res.positions.keys()) this.fromDisk.add(id);
      this.log.info({ file: res.from, files: res.positions.size }, "positions loaded");
    } else if (res.kind === "recovering") {
      this.recoverMode = res.mode;
      this.log.warn(
        { file: this.config.positions, reason: res.reason, mode: res.mode },
        `positions file unusable; recovering: files present now start at their ${res.mode}`,
      );
    }
  }

  /** Records a newly tracked (or moved) position: written down at the run loop's next turn. */
  track(id: string, entry: PositionEntry): void {
    this.positions.set(id, entry);
    this.dirty = true;
    this.newlyTracked = true;
  }

  /** Drops a position whose content is gone. */
  drop(id: string): void {
    if (this.positions.delete(id)) this.dirty = true;
  }

  persist(force: boolean, files: Iterable<TrackedFile>): void {
    const now = Date.now();
    for (const f of files) {
      const e = f.fileId === undefined ? undefined : this.positions.get(f.fileId);
      if (e) e.seenAt = now;
    }
    for (const [id, e] of this.positions) {
      if (now - e.seenAt > this.config.forgetAfterMs) {
        this.positions.delete(id);
        this.dirty = true;
      }
    }
    if (!this.dirty && !force) return;
    try {
      savePositions(this.config.positions, this.positions);
      this.dirty = false;
      this.lastPersistAt = now;
    } catch (e) {
      this.writeErrors.inc();
      if (force) {
        throw new BoxscopeError(
          "BXS_POSITIONS_NOT_SAVED",
          `positions file ${this.config.positions}: not saved (${errnoCode(e) ?? errorText(e)}); the next start re-reads from the positions last saved`,
          { context: { positions: this.config.positions }, exitCode: EXIT_POSITIONS_NOT_SAVED },
        );
      }
      this.log.error(
        { file: this.config.positions, err: errorText(e) },
        "cannot write the positions file; will retry",
      );
    }
  }
}

/** `ship` exits with this when it stopped without writing its final positions. */
export const EXIT_POSITIONS_NOT_SAVED = 3;

/**
 * A positions directory the shipper cannot write (read-only mount, wrong owner) is found at start:
 * otherwise it would ship for hours and re-send all of it after the next restart.
 */
function assertWritable(positions: string): void {
  const probe = `${positions}.tmp`;
  try {
    closeSync(openSync(probe, "w", 0o644));
    unlinkSync(probe);
  } catch (e) {
    throw new BoxscopeError(
      "BXS_POSITIONS_UNWRITABLE",
      `ship positions ${positions}: cannot write in ${dirname(positions)} (${errnoCode(e) ?? String(e)})`,
    );
  }
}
