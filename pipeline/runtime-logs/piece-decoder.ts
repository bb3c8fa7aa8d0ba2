import { PendingByStream, type PieceJoin } from "./joiner.js";
import {
  countRecord,
  type DecoderOptions,
  type DecoderStats,
  type LogStream,
  newDecoderStats,
  type RuntimeLogRecord,
  resolveMaxRecordBytes,
} from "./record.js";

/**
 * What the Docker and CRI decoders share: the counters, the size bound, each stream's unfinished
 * line, and what becomes of a piece once parsed (held, or its line emitted). Each decoder parses
 * its own format in push().
 */
export abstract class PieceDecoder<E extends string> {
  readonly stats: DecoderStats = newDecoderStats();
  protected readonly maxBytes: number;
  protected readonly pending = new PendingByStream();

  /** `stripCr`: whether a joined line loses the "\r" of a "\r\n" end (see PieceJoin.record). */
  constructor(
    options: DecoderOptions | undefined,
    private readonly stripCr: boolean,
  ) {
    this.maxBytes = resolveMaxRecordBytes(options);
  }

  /** Input lines held in unfinished joins (not yet in any emitted record). */
  get pendingLines(): number {
    return this.pending.lines;
  }

  /** Whether input line number `piece` starts a line still unfinished (held, in no record yet). */
  holds(piece: number): boolean {
    return this.pending.holds(piece);
  }

  /** Takes the next line of the file (without its "\n"); returns the record it completes, if any. Never throws. */
  abstract push(line: string | Buffer): RuntimeLogRecord<E> | undefined;

  /**
   * Emits the lines whose last piece has not come (stdout's, then stderr's), flagged `partial`: at
   * the end of a file that will not grow (the container ended without a newline, or stopped).
   */
  flush(): RuntimeLogRecord<E>[] {
    return this.pending.takeAll().map((join) => this.emit(join.record(true, this.stripCr)));
  }

  /** Adds `bytes[start, …)` to `stream`'s line: held while `more` pieces follow, else the joined line. */
  protected addPiece(
    join: PieceJoin,
    stream: LogStream,
    bytes: Buffer,
    start: number,
    more: boolean,
  ): RuntimeLogRecord<E> | undefined {
    if (join.lines === 0) join.firstPiece = this.stats.lines;
    join.add(bytes, start, bytes.length);
    if (more) {
      this.pending.set(stream, join);
      return undefined;
    }
    this.pending.set(stream, undefined);
    return this.emit(join.record(false, this.stripCr));
  }

  /** Counts `record`; one made of the current input line alone gets its number here. */
  protected emit(record: RuntimeLogRecord<E>): RuntimeLogRecord<E> {
    record.firstPiece ??= this.stats.lines;
    countRecord(this.stats, record);
    return record;
  }
}
