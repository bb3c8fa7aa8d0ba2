/**
 * What the runtime log decoders (`docker-json.ts`, `cri.ts`) emit, and the options and counters they
 * share. One record is one line the container wrote, its runtime's pieces joined.
 */

export type LogStream = "stdout" | "stderr";

export interface RuntimeLogRecord<E extends string = string> {
  /** The runtime's timestamp of the line's first piece, exactly as written. Absent on an `error` record. */
  time?: string;
  /**
   * `time` as milliseconds since the Unix epoch. Milliseconds, not nanoseconds: a JavaScript number
   * holds epoch nanoseconds exactly only up to 2^53 ns (mid-April 1970), a bigint would follow the
   * record into every JSON step, and Elasticsearch's `date` and JavaScript's `Date` are milliseconds.
   * Whoever needs the nanoseconds (ordering within a millisecond, a `date_nanos` field) has `time`.
   */
  timeMs?: number;
  stream?: LogStream;
  /**
   * The line as the container wrote it, without its line end; on an `error` record, the raw input
   * line. Made of at most `maxRecordBytes` of the bytes the runtime wrote, so at most that many
   * UTF-8 bytes when they were valid UTF-8 (each invalid byte becomes U+FFFD, 3 bytes, as in the
   * shipper's lines).
   */
  text: string;
  /** How many input lines (runtime pieces) this record is made of: each input line is in exactly one record. */
  lines: number;
  /**
   * Which input line the record starts with: 1 for the first line a decoder was given, and so on.
   * A reader that needs to know where a joined line began in its file (to not acknowledge past it)
   * keeps the position of each piece the decoder `holds`, and finds it again by this number.
   */
  firstPiece?: number;
  /** `text` was cut at `maxRecordBytes` (at a character boundary); `droppedBytes` says how much was left out. */
  truncated?: true;
  /** Bytes of the line left out of `text` after the cut (set with `truncated`). */
  droppedBytes?: number;
  /** The line's last piece never came: emitted by `flush()` (end of the file, container gone). */
  partial?: true;
  /** The input line was not of the runtime's format; `text` is the raw line. A stable code, see each decoder. */
  error?: E;
  /** Docker only: the `attrs` object json-file writes for `--log-opt labels/env/...` (of the first piece). */
  attrs?: Readonly<Record<string, string>>;
}

export interface DecoderOptions {
  /**
   * Largest line in bytes (as the runtime wrote them: CRI's raw bytes, Docker's decoded `log`
   * strings in UTF-8); a longer line is cut there at a character boundary and flagged `truncated`,
   * the rest of its pieces counted and dropped. Bounds memory too: a decoder holds at most this much
   * per stream.
   */
  maxRecordBytes?: number;
}

/** 1 MiB: 64 of the runtimes' 16 KiB pieces, far above a sane log line, far below what would hurt. */
export const DEFAULT_MAX_RECORD_BYTES = 1 << 20;

export function resolveMaxRecordBytes(options: DecoderOptions | undefined): number {
  const max = options?.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  if (!Number.isSafeInteger(max) || max < 1) {
    throw new RangeError(`maxRecordBytes must be a positive integer, not ${max}`);
  }
  return max;
}

/** Counters of one decoder (for metrics): what it took and what it gave. */
export interface DecoderStats {
  /** Input lines pushed. */
  lines: number;
  /** Records emitted (by `push` and `flush`). */
  records: number;
  /** Of which `error` records. */
  errors: number;
  /** Of which `truncated`. */
  truncatedRecords: number;
  /** Sum of the records' `droppedBytes`. */
  droppedBytes: number;
  /** Of the records, those `flush` emitted `partial`. */
  partialRecords: number;
}

export function newDecoderStats(): DecoderStats {
  return { lines: 0, records: 0, errors: 0, truncatedRecords: 0, droppedBytes: 0, partialRecords: 0 };
}

export function countRecord(stats: DecoderStats, record: RuntimeLogRecord): void {
  stats.records += 1;
  if (record.error !== undefined) stats.errors += 1;
  if (record.truncated) stats.truncatedRecords += 1;
  if (record.droppedBytes !== undefined) stats.droppedBytes += record.droppedBytes;
  if (record.partial) stats.partialRecords += 1;
}
