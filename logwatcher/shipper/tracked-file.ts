import { type FSWatcher, watch } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { type Fingerprint, fileIdOf, fingerprintOf, hashBytes } from "./fingerprint.js";
import { LineSplitter } from "./lines.js";
import { type LogRecord, MultilineAssembler } from "./multiline.js";

export interface ReadLimits {
  maxLineBytes: number;
  maxRecordBytes: number;
  multilineFirstLine: RegExp | undefined;
  multilineMaxLines: number;
  readChunkBytes: number;
  partialFlushMs: number;
}

/** A record ready to ship, bound to the file generation it came from. */
export interface ShipRecord extends LogRecord {
  file: TrackedFile;
  generation: number;
  fileId: string;
}

/**
 * One file (one inode) the shipper reads, whatever links point at it. Holds the read state (next
 * byte, partial line, multi-line record in progress) and the acknowledged position. The file
 * handle may be closed to bound open files and reopened by path after an identity check.
 */
export class TrackedFile {
  handle: FileHandle | undefined;
  fingerprint: Fingerprint | undefined;
  fileId: string | undefined;
  /** Bumped on truncation / rewrite so acks of the old content are ignored. */
  generation = 0;
  readPos = 0;
  /**
   * Records starting before this offset may have been sent before a restart (they lie between the
   * persisted acknowledged position and the size seen at start-up): they carry `replayed: true`.
   */
  replayUntil = 0;
  ackedPos = 0;
  size = 0;
  lastGrowthAt: number;
  lastUsedAt: number;
  readonly firstSeenAt: number;
  /** No spool link points at this inode any more: read to the end, then close. */
  orphanSince: number | undefined;
  /** Records handed out but not yet acknowledged. */
  unacked = 0;
  linkNames = new Set<string>();
  /** Set by the inotify watch when the file was written; cleared by a read at its end. */
  changed = false;
  private watcher: FSWatcher | undefined;
  private splitter: LineSplitter;
  private assembler: MultilineAssembler;

  constructor(
    readonly dev: number,
    readonly ino: number,
    public path: string,
    public container: string,
    private readonly limits: ReadLimits,
    now: number,
  ) {
    this.lastGrowthAt = now;
    this.lastUsedAt = now;
    this.firstSeenAt = now;
    this.splitter = new LineSplitter(0, limits.maxLineBytes);
    this.assembler = new MultilineAssembler(
      limits.multilineFirstLine,
      limits.maxRecordBytes,
      limits.multilineMaxLines,
    );
  }

  get key(): string {
    return `${this.dev}:${this.ino}`;
  }

  /**
   * Starts reading at `offset` with this identity (fresh state). `fileId` is given when the bytes
   * belong to another identity: a rotated copy read in place of the file it was copied from.
   */
  startAt(offset: number, fingerprint: Fingerprint, fileId?: string): void {
    this.fingerprint = fingerprint;
    this.fileId = fileId ?? fileIdOf(this.dev, this.ino, fingerprint);
    this.readPos = offset;
    this.ackedPos = offset;
    this.splitter = new LineSplitter(offset, this.limits.maxLineBytes);
    this.assembler = new MultilineAssembler(
      this.limits.multilineFirstLine,
      this.limits.maxRecordBytes,
      this.limits.multilineMaxLines,
    );
  }

  /** Forget the identity and read state: the content was truncated or replaced. */
  reset(): void {
    this.generation += 1;
    this.replayUntil = 0;
    this.fingerprint = undefined;
    this.fileId = undefined;
    this.startAt(0, { hash: "", length: 0, settled: false });
    this.fingerprint = undefined;
    this.fileId = undefined;
  }

  /** Opens the file by path; false when the path now names another inode (or nothing). */
  async reopen(): Promise<boolean> {
    if (this.handle) return true;
    let fh: FileHandle;
    try {
      fh = await open(this.path, "r");
    } catch {
      return false;
    }
    const st = await fh.stat();
    if (st.dev !== this.dev || st.ino !== this.ino) {
      await fh.close();
      return false;
    }
    this.handle = fh;
    return true;
  }

  async close(): Promise<void> {
    const fh = this.handle;
    this.handle = undefined;
    this.unwatch();
    await fh?.close();
  }

  /**
   * Wakes the shipper as soon as the file is written (inotify follows the inode through renames),
   * so a line is read within milliseconds rather than at the next poll; this narrows the window in
   * which copytruncate can discard lines not read yet. Polling still covers everything: a watch
   * that cannot be set (inotify limit) is simply skipped.
   */
  watchChanges(onChange: () => void): void {
    if (this.watcher) return;
    try {
      this.watcher = watch(this.path, { persistent: false }, () => {
        this.changed = true;
        onChange();
      });
      this.watcher.on("error", () => this.unwatch());
    } catch {
      this.watcher = undefined;
    }
  }

  unwatch(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  /** Fingerprint of the file's current head (undefined when empty or unreadable). */
  async readHead(): Promise<Fingerprint | undefined> {
    if (!this.handle) return undefined;
    const buf = Buffer.alloc(64);
    const { bytesRead } = await this.handle.read(buf, 0, buf.length, 0);
    return bytesRead === 0 ? undefined : fingerprintOf(buf.subarray(0, bytesRead));
  }

  /** Whether the first `length` bytes still hash to `hash` (same content as recorded). */
  async headMatches(hash: string, length: number): Promise<boolean> {
    if (!this.handle) return false;
    const buf = Buffer.alloc(length);
    const { bytesRead } = await this.handle.read(buf, 0, length, 0);
    return bytesRead === length && hashBytes(buf) === hash;
  }

  /**
   * Reads one chunk and returns the complete records in it. At the end of the file, an
   * unterminated line and a multi-line record in progress are flushed once the file has not grown
   * for `partialFlushMs` (or at once when `final`).
   */
  async readRecords(
    buf: Buffer,
    now: number,
    final: boolean,
  ): Promise<{ records: ShipRecord[]; eof: boolean }> {
    const fh = this.handle;
    const fileId = this.fileId;
    if (!fh || fileId === undefined) return { records: [], eof: true };
    const { bytesRead } = await fh.read(
      buf,
      0,
      Math.min(buf.length, this.limits.readChunkBytes),
      this.readPos,
    );
    this.lastUsedAt = now;
    let records: LogRecord[];
    if (bytesRead === 0) this.changed = false;
    if (bytesRead > 0) {
      this.readPos += bytesRead;
      this.lastGrowthAt = now;
      records = this.assembler.push(this.splitter.push(buf.subarray(0, bytesRead)));
    } else {
      records = [];
      const idle = now - this.lastGrowthAt >= this.limits.partialFlushMs;
      if (idle || final) {
        const partial = this.splitter.flush();
        if (partial) records.push(...this.assembler.push([partial]));
        const pending = this.assembler.flush();
        if (pending) records.push(pending);
      }
    }
    this.unacked += records.length;
    return {
      records: records.map((r) => ({ ...r, file: this, generation: this.generation, fileId })),
      eof: bytesRead === 0,
    };
  }

  /** First byte not yet handed out in a record (the rest sits in the partial line or record). */
  get emittedPos(): number {
    return this.assembler.pendingStart ?? this.splitter.pendingStart;
  }

  /** Nothing buffered: no partial line and no multi-line record waiting. */
  get drained(): boolean {
    return this.splitter.pendingBytes === 0 && !this.assembler.hasPending;
  }
}
