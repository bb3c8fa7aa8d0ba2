import { JournalJsonDecoder } from "../host-journal/journal-json.js";
import { CriDecoder } from "../runtime-logs/cri.js";
import { DockerJsonDecoder } from "../runtime-logs/docker-json.js";
import type { DecoderStats } from "../runtime-logs/record.js";
import type { LogFormat } from "../sources.js";
import type { DecodedRecord } from "./decoded-record.js";

/** What a decoded stream needs of a file (the shipper's TrackedFile). */
export interface StreamFile {
  /** Records handed out and not yet acknowledged: the stream counts the records it attributes to the file. */
  unacked: number;
  /** Set while no spool link points at the file any more (rotated away): it is older than the live file. */
  orphanSince: number | undefined;
  readPos: number;
  size: number;
  /** Written since the last look (inotify). */
  changed: boolean;
}

/** How long a rotated file holds a line its successor may finish before emitting it `partial`. */
export const ROTATED_FILE_WAIT_MS = 30_000;

/** Where a decoded record lies, for its identity and its acknowledgement. */
export interface DecodedSpan<F> {
  /** The file the record began in: its identity is this file's and `offset`. */
  file: F;
  /** The record's first byte in `file`. */
  offset: number;
  /** The position `file` may be acknowledged up to once the record is: never past a piece still held. */
  end: number;
  /** The record ended in a later file of the stream (its line straddled a rotation): that file's position. */
  endsIn?: { file: F; end: number };
}

export interface DecodedSink<F> {
  decoded(record: DecodedRecord, span: DecodedSpan<F>): void;
}

interface LineDecoder {
  readonly stats: DecoderStats;
  readonly pendingLines: number;
  push(line: Buffer): DecodedRecord | undefined;
  flush(): DecodedRecord[];
  holds(piece: number): boolean;
}

function newDecoder(format: Exclude<LogFormat, "plain">, maxRecordBytes: number): LineDecoder {
  switch (format) {
    case "docker-json":
      return new DockerJsonDecoder({ maxRecordBytes });
    case "cri":
      return new CriDecoder({ maxRecordBytes });
    case "journal-json": {
      // One entry per line: nothing is ever held.
      const journal = new JournalJsonDecoder({ maxRecordBytes });
      return {
        stats: journal.stats,
        pendingLines: 0,
        push: (line) => journal.push(line),
        flush: () => [],
        holds: () => false,
      };
    }
  }
}

/**
 * The lines of one container run, decoded from its runtime's format across the files it wrote: a
 * line the runtime split into 16 KiB pieces can straddle a rotation, so one decoder reads the
 * rotated file to its end and then the new one (`waits`). Positions: a piece the decoder holds (its
 * line not finished yet) has not been shipped, so no file is acknowledged past the first byte of a
 * held piece (`end` of every span, `emittedPos`).
 */
export class DecodedStream<F extends StreamFile> {
  private readonly decoder: LineDecoder;
  /** Where each held line began: by the decoder's number of its first piece. */
  private readonly origins = new Map<number, { file: F; offset: number }>();
  /** Per file, the end of the last line given to the decoder. */
  private readonly decodedEnd = new Map<F, number>();
  readonly files = new Set<F>();

  constructor(format: Exclude<LogFormat, "plain">, maxRecordBytes: number) {
    this.decoder = newDecoder(format, maxRecordBytes);
  }

  get stats(): DecoderStats {
    return this.decoder.stats;
  }

  add(file: F, position: number): void {
    this.files.add(file);
    this.decodedEnd.set(file, position);
  }

  remove(file: F): void {
    this.files.delete(file);
    this.decodedEnd.delete(file);
    for (const [piece, origin] of this.origins) if (origin.file === file) this.origins.delete(piece);
  }

  /** The file's content was replaced (truncation): lines held from its old content are forgotten. */
  restart(file: F, position: number): void {
    this.remove(file);
    this.add(file, position);
  }

  /**
   * Whether `file` must wait: an older file of the stream (one rotated away while `file` is the
   * live one) still has bytes to read, and they come first.
   */
  waits(file: F): boolean {
    if (file.orphanSince !== undefined) return false;
    for (const g of this.files)
      if (g !== file && g.orphanSince !== undefined && (g.readPos < g.size || g.changed)) return true;
    return false;
  }

  /**
   * Whether a held line may be flushed from `file` at `now`: no newer file of the stream may still
   * finish it. A rotated file with no newer one known yet waits ROTATED_FILE_WAIT_MS after it left
   * the spool: the runtime makes the new file at once, but the logwatcher may link it late (a busy
   * host, a lost event: the next reconcile), and the line's last pieces are in it.
   */
  mayFlush(file: F, now: number): boolean {
    if (file.orphanSince === undefined) return true;
    for (const g of this.files) if (g.orphanSince === undefined) return false;
    return now - file.orphanSince >= ROTATED_FILE_WAIT_MS;
  }

  /** One line of `file` (bytes [offset, end) of it, without the newline). */
  push(file: F, line: Buffer, offset: number, end: number, sink: DecodedSink<F>): void {
    const piece = this.decoder.stats.lines + 1;
    const record = this.decoder.push(line);
    this.decodedEnd.set(file, end);
    if (!record) {
      if (this.decoder.holds(piece)) this.origins.set(piece, { file, offset });
      return;
    }
    // A line in one piece begins here; a joined one where its first piece was (or here, when that
    // file has since been forgotten or truncated).
    const origin = (record.firstPiece === piece ? undefined : this.takeOrigin(record)) ?? { file, offset };
    this.emit(file, origin, record, sink);
  }

  /** Emits the held lines as `partial` records (the runtime will not finish them: see `mayFlush`). */
  flush(sink: DecodedSink<F>): void {
    for (const record of this.decoder.flush()) {
      const origin = this.takeOrigin(record);
      // Without one, the line began in a file truncated or forgotten since: its loss is counted there.
      if (origin) this.emit(origin.file, origin, record, sink);
    }
  }

  /** The first byte of `file` not in an emitted record, given where its line splitter stands. */
  emittedPos(file: F, splitterPos: number): number {
    let pos = splitterPos;
    for (const o of this.origins.values()) if (o.file === file && o.offset < pos) pos = o.offset;
    return pos;
  }

  /** Whether a line held by the decoder began in `file`. */
  holdsIn(file: F): boolean {
    for (const o of this.origins.values()) if (o.file === file) return true;
    return false;
  }

  /** Input lines (pieces) held by the decoder. */
  get pendingLines(): number {
    return this.decoder.pendingLines;
  }

  private takeOrigin(record: DecodedRecord): { file: F; offset: number } | undefined {
    const piece = record.firstPiece ?? 0;
    const origin = this.origins.get(piece);
    this.origins.delete(piece);
    return origin;
  }

  /** `last`: the file of the record's last piece; `origin`: where its first one was. */
  private emit(
    last: F,
    origin: { file: F; offset: number },
    record: DecodedRecord,
    sink: DecodedSink<F>,
  ): void {
    const home = origin.file;
    home.unacked += 1;
    const span: DecodedSpan<F> = { file: home, offset: origin.offset, end: this.safeEnd(home) };
    if (last !== home) span.endsIn = { file: last, end: this.safeEnd(last) };
    sink.decoded(record, span);
  }

  /** How far `file` may be acknowledged now: its decoded lines, up to the first held piece in it. */
  private safeEnd(file: F): number {
    return this.emittedPos(file, this.decodedEnd.get(file) ?? 0);
  }
}
