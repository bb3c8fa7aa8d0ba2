import { type FSWatcher, watch } from "node:fs";
import { type FileHandle, realpath } from "node:fs/promises";
import type { Refused } from "../../common/files/eligibility.js";
import {
  type BulkResult,
  type LineBytes,
  type LineBytesSink,
  LineSplitter,
  type LinesBulkSink,
  type LinesRun,
} from "../../common/files/lines.js";
import { openConfined } from "../../common/files/safe-open.js";
import type { LineMatcher } from "../../common/regex.js";
import type { LogFormat, SourceKind } from "../sources.js";
import type { DecodedRecord } from "./decoded-record.js";
import type { DecodedSink, DecodedSpan, DecodedStream } from "./decoded-stream.js";
import type { FileMeta } from "./file-meta.js";
import { type Fingerprint, fileIdOf, fingerprintOf, hashBytes } from "./fingerprint.js";
import { type LogRecord, MultilineAssembler } from "./multiline.js";

/** How the files of one log tree are read. */
export interface ReadLimits {
  /** Files are opened only inside this directory (the tree's root; a symlink to it is resolved). */
  logRoot: string;
  kind: SourceKind;
  /** `plain`: lines as they are; otherwise decoded from a runtime's format (by the file's `stream`). */
  format: LogFormat;
  maxLineBytes: number;
  maxRecordBytes: number;
  multilineFirstLine: LineMatcher | undefined;
  multilineMaxLines: number;
  readChunkBytes: number;
  partialFlushMs: number;
}

/**
 * Where a file's records go as they are read (the shipper's batch builder). The file's `fileId`
 * and `generation` at the call are the record's identity.
 */
export interface RecordSink {
  /** One line as bytes (valid only during the call: see LineBytes). */
  lineBytes(f: TrackedFile, line: Readonly<LineBytes>): void;
  /** Many complete lines at once (see LinesBulkSink); optional. */
  linesBulk?(f: TrackedFile, run: Readonly<LinesRun>): BulkResult;
  /** One record as text: with a multi-line pattern, every record takes this way. */
  record(f: TrackedFile, r: LogRecord): void;
  /** One record decoded from a runtime's format (see DecodedStream). */
  decoded(r: DecodedRecord, span: DecodedSpan<TrackedFile>): void;
}

/** What one read does (TrackedFile.readInto). */
export interface ReadRequest {
  buf: Buffer;
  now: number;
  /** The file will not grow any more: hand out what is buffered at the end. */
  final: boolean;
  sink: RecordSink;
  /** Read at most this many bytes (the container's rate limit); the buffer's size by default. */
  maxBytes?: number;
}

/** Newlines counted past the read position while reading was paused (TrackedFile.countAhead). */
interface LineCensus {
  /** The read position (and generation) the count starts at; stale once either moves. */
  origin: number;
  generation: number;
  /** Counted up to here. */
  to: number;
  newlines: number;
  /** Whether the byte before `to` is a newline. */
  endsLine: boolean;
}

/** What a truncation of the file now would take away unread (TrackedFile.unread). */
export interface UnreadContent {
  /** First byte not handed out in a record. */
  from: number;
  /** Bytes from `from` up to here were read or counted: `lines` is exact for them. */
  countedEnd: number;
  /** Lines starting in [from, countedEnd) (a line cut at countedEnd counts). */
  lines: number;
  /** Bytes past countedEnd that the last size check saw (their lines are not known). */
  uncountedBytes: number;
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
  private census: LineCensus | undefined;
  private splitter: LineSplitter;
  private assembler: MultilineAssembler;

  /** Who wrote the file (the records' metadata); refreshed by the shipper now and then. */
  meta: FileMeta;
  metaAt: number;
  /** The decoder the file's lines go through (its container run's), when its tree's format needs one. */
  stream: DecodedStream<TrackedFile> | undefined;
  /** Since when the file has had bytes not read yet (undefined: read to its end at the last look). */
  behindSince: number | undefined;

  constructor(
    readonly dev: number,
    readonly ino: number,
    public path: string,
    meta: FileMeta,
    readonly limits: ReadLimits,
    now: number,
  ) {
    this.meta = meta;
    this.metaAt = now;
    this.lastGrowthAt = now;
    this.lastUsedAt = now;
    this.firstSeenAt = now;
    this.splitter = new LineSplitter(0, limits.maxLineBytes);
    this.assembler = this.newAssembler();
  }

  private newAssembler(): MultilineAssembler {
    const { multilineFirstLine, maxRecordBytes, multilineMaxLines } = this.limits;
    return new MultilineAssembler(multilineFirstLine, maxRecordBytes, multilineMaxLines);
  }

  get key(): string {
    return `${this.dev}:${this.ino}`;
  }

  /** The record's `container` (saved with the position). */
  get container(): string {
    return this.meta.container;
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
    this.assembler = this.newAssembler();
    this.stream?.restart(this, offset);
  }

  /** Forget the identity and read state: the content was truncated or replaced. */
  reset(): void {
    this.generation += 1;
    this.replayUntil = 0;
    this.startAt(0, { hash: "", length: 0, settled: false });
    this.fingerprint = undefined;
    this.fileId = undefined;
  }

  /** Why the last `reopen` failed (undefined after a success). */
  refusal: Refused | undefined;

  /**
   * Opens the file by path; false when the path now names another inode (or nothing), or names it
   * in a way the log tree's rules refuse (openConfined: no symlink, a regular file with one link,
   * inside the log root). The spool's link was checked when the logwatcher made it, but the
   * container can swap the path since, and the logwatcher may not be running.
   */
  async reopen(): Promise<boolean> {
    if (this.handle) return true;
    let root: string;
    try {
      root = await realpath(this.limits.logRoot);
    } catch (e) {
      this.refusal = { ok: false, reason: "stat_error", detail: `log root: ${(e as Error).message}` };
      return false;
    }
    const r = await openConfined(this.path, root, this);
    if (!r.ok) {
      this.refusal = r;
      return false;
    }
    this.refusal = undefined;
    this.handle = r.handle;
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
   * Reads one chunk and hands the complete records in it to `sink`. At the end of the file, an
   * unterminated line and a multi-line record in progress are flushed once the file has not grown
   * for `partialFlushMs` (or at once when `final`). Without a multi-line pattern, lines go to the
   * sink as bytes (no string or object per line); a runtime's format goes through the decoder.
   */
  async readInto(req: ReadRequest): Promise<{ eof: boolean; bytesRead: number }> {
    const { buf, now, final, sink } = req;
    const fh = this.handle;
    const fileId = this.fileId;
    const generation = this.generation;
    if (!fh || fileId === undefined) return { eof: true, bytesRead: 0 };
    const length = Math.max(1, Math.min(buf.length, this.limits.readChunkBytes, req.maxBytes ?? buf.length));
    const { bytesRead } = await fh.read(buf, 0, length, this.readPos);
    // Truncated or re-identified while the read was in flight: these bytes belong to no one now.
    if (this.fileId !== fileId || this.generation !== generation) return { eof: false, bytesRead: 0 };
    this.lastUsedAt = now;
    const stream = this.stream;
    if (stream) {
      this.readDecoded(stream, buf.subarray(0, bytesRead), now, final, sink);
      return { eof: bytesRead === 0, bytesRead };
    }
    const bytesSink = this.bytesSinkFor(sink);
    let n = 0;
    if (bytesRead > 0) {
      this.readPos += bytesRead;
      this.lastGrowthAt = now;
      const chunk = buf.subarray(0, bytesRead);
      if (this.limits.multilineFirstLine)
        n += this.toSink(sink, this.assembler.push(this.splitter.push(chunk)));
      else n += this.splitter.scan(chunk, bytesSink, this.bytesSink?.bulk);
    } else {
      this.changed = false;
      const idle = now - this.lastGrowthAt >= this.limits.partialFlushMs;
      if (idle || final) {
        if (!this.limits.multilineFirstLine) {
          if (this.splitter.flushTo(bytesSink)) n++;
        } else {
          const partial = this.splitter.flush();
          if (partial) n += this.toSink(sink, this.assembler.push([partial]));
          const pending = this.assembler.flush();
          if (pending) n += this.toSink(sink, [pending]);
        }
      }
    }
    this.unacked += n;
    return { eof: bytesRead === 0, bytesRead };
  }

  /**
   * A runtime's format: every line goes to the container run's decoder, which counts the records
   * it hands out against the file they begin in. At the idle end of the file, the unterminated
   * line goes too, and the lines the decoder still holds are flushed as `partial` unless a newer
   * file of the run may still finish them.
   */
  private readDecoded(
    stream: DecodedStream<TrackedFile>,
    chunk: Buffer,
    now: number,
    final: boolean,
    sink: DecodedSink<TrackedFile>,
  ): void {
    const toStream: LineBytesSink = (line) =>
      stream.push(this, line.src.subarray(line.start, line.stop), line.offset, line.end, sink);
    if (chunk.length > 0) {
      this.readPos += chunk.length;
      this.lastGrowthAt = now;
      this.splitter.scan(chunk, toStream);
      return;
    }
    this.changed = false;
    if (!final && now - this.lastGrowthAt < this.limits.partialFlushMs) return;
    this.splitter.flushTo(toStream);
    if (stream.mayFlush(this, now)) stream.flush(sink);
  }

  private toSink(sink: RecordSink, records: LogRecord[]): number {
    for (const r of records) sink.record(this, r);
    return records.length;
  }

  private bytesSink: { sink: RecordSink; fn: LineBytesSink; bulk: LinesBulkSink | undefined } | undefined;
  private bytesSinkFor(sink: RecordSink): LineBytesSink {
    if (this.bytesSink?.sink !== sink) {
      const fn: LineBytesSink = (line) => sink.lineBytes(this, line);
      const bulk: LinesBulkSink | undefined = sink.linesBulk
        ? (run) => (sink.linesBulk as NonNullable<RecordSink["linesBulk"]>)(this, run)
        : undefined;
      this.bytesSink = { sink, fn, bulk };
    }
    return this.bytesSink.fn;
  }

  /** First byte not yet handed out in a record (the rest sits in the partial line or record). */
  get emittedPos(): number {
    const pos = this.assembler.pendingStart ?? this.splitter.pendingStart;
    return this.stream ? this.stream.emittedPos(this, pos) : pos;
  }

  /** The census of the bytes past the read position, when it still starts there. */
  private currentCensus(): LineCensus | undefined {
    const c = this.census;
    return c && c.origin === this.readPos && c.generation === this.generation ? c : undefined;
  }

  /**
   * While reading is paused (Kafka not acknowledging), counts the lines of one chunk of the bytes
   * between the read position and the size last seen, so that if a truncation takes them away
   * before they are read the loss is counted in lines, not only bytes. Returns whether it counted.
   * Never on the shipping path: reading the same bytes twice is only worth it while they wait.
   */
  async countAhead(buf: Buffer): Promise<boolean> {
    const fh = this.handle;
    if (!fh || this.fileId === undefined) return false;
    let c = this.currentCensus();
    if (!c) {
      const endsLine = this.splitter.pendingBytes === 0;
      c = { origin: this.readPos, generation: this.generation, to: this.readPos, newlines: 0, endsLine };
      this.census = c;
    }
    if (c.to >= this.size) return false;
    const length = Math.min(buf.length, this.limits.readChunkBytes, this.size - c.to);
    const { bytesRead } = await fh.read(buf, 0, length, c.to);
    // Read again or truncated meanwhile: this count belongs to no one now.
    if (this.census !== c || this.currentCensus() !== c || bytesRead === 0) return false;
    const chunk = buf.subarray(0, bytesRead);
    let n = 0;
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++;
    c.newlines += n;
    c.to += bytesRead;
    c.endsLine = chunk[bytesRead - 1] === 10;
    return true;
  }

  /** Bytes past the read position whose lines are not counted (UnreadContent.uncountedBytes). */
  get uncountedBytes(): number {
    return Math.max(0, this.size - Math.max(this.readPos, this.currentCensus()?.to ?? 0));
  }

  /**
   * What a truncation now takes away unread: from the first byte not handed out (a partial line or
   * a multi-line record in progress is re-read, not kept) to the end of what was read or counted.
   * `seenSize` is the size the last check saw (may be past the counted end).
   */
  unread(seenSize: number): UnreadContent {
    const from = this.emittedPos;
    const c = this.currentCensus();
    const countedEnd = Math.max(this.readPos, c?.to ?? 0);
    const endsLine = c && c.to > this.readPos ? c.endsLine : this.splitter.pendingBytes === 0;
    const held = this.stream?.holdsIn(this) ? this.stream.pendingLines : this.assembler.pendingLines;
    const newlines = held + (c?.newlines ?? 0);
    const lines = countedEnd > from ? newlines + (endsLine ? 0 : 1) : 0;
    return { from, countedEnd, lines, uncountedBytes: Math.max(0, seenSize - countedEnd) };
  }

  /** Nothing buffered: no partial line and no multi-line record waiting. */
  get drained(): boolean {
    return this.splitter.pendingBytes === 0 && !this.assembler.hasPending && !this.stream?.holdsIn(this);
  }
}
