import type { LogStream, RuntimeLogRecord } from "./record.js";

/**
 * Joins the pieces of one line (a runtime splits lines longer than 16 KiB) as bytes, within a byte
 * bound. Bytes, not strings, because containerd splits at byte 16384 whatever the text: a UTF-8
 * character can straddle two pieces, and decoding each piece on its own would turn it into two
 * U+FFFD. The joined bytes are decoded once.
 */
export class PieceJoin {
  private readonly parts: Buffer[] = [];
  private kept = 0;
  private dropped = 0;
  /** Input lines (pieces) in this join. */
  lines = 0;
  /** The decoder's number of the join's first input line (RuntimeLogRecord.firstPiece). */
  firstPiece = 0;

  constructor(
    /** The first piece's timestamp: the record's. */
    readonly time: string,
    readonly timeMs: number,
    readonly stream: LogStream,
    private readonly maxBytes: number,
    readonly attrs?: Readonly<Record<string, string>>,
  ) {}

  /** Adds `src[start, end)` (copied: the caller's buffer may be reused); bytes past the bound are counted, not kept. */
  add(src: Buffer, start: number, end: number): void {
    this.lines += 1;
    const length = end - start;
    const room = this.maxBytes - this.kept;
    const take = Math.min(room, length);
    if (take > 0) {
      this.parts.push(Buffer.from(src.subarray(start, start + take)));
      this.kept += take;
    }
    this.dropped += length - take;
  }

  get truncated(): boolean {
    return this.dropped > 0;
  }

  /** The kept bytes; when cut, without a character the cut split (its bytes count as dropped). */
  bytes(): { bytes: Buffer; droppedBytes: number } {
    const all =
      this.parts.length === 1 && this.parts[0] ? this.parts[0] : Buffer.concat(this.parts, this.kept);
    if (this.dropped === 0) return { bytes: all, droppedBytes: 0 };
    const end = utf8CutPoint(all, all.length);
    return { bytes: all.subarray(0, end), droppedBytes: this.dropped + all.length - end };
  }

  /**
   * The record of this join, decoded once. `partial`: its last piece never came. `stripCr`: a
   * complete, uncut line loses the "\r" of a "\r\n" line end (Docker keeps it in `log`).
   */
  record(partial: boolean, stripCr: boolean): RuntimeLogRecord<never> {
    const { bytes, droppedBytes } = this.bytes();
    const text = bytes.toString("utf8");
    return {
      time: this.time,
      timeMs: this.timeMs,
      stream: this.stream,
      text: stripCr && !partial && droppedBytes === 0 ? withoutCr(text) : text,
      lines: this.lines,
      firstPiece: this.firstPiece,
      ...truncation(droppedBytes),
      ...(partial ? { partial: true as const } : {}),
      ...(this.attrs ? { attrs: this.attrs } : {}),
    };
  }
}

/** `text` without one trailing "\r" (the line end was "\r\n"). */
export function withoutCr(text: string): string {
  return text.endsWith("\r") ? text.slice(0, -1) : text;
}

/** The `truncated` and `droppedBytes` fields of a record, when bytes were dropped. */
export function truncation(droppedBytes: number): { truncated?: true; droppedBytes?: number } {
  return droppedBytes > 0 ? { truncated: true, droppedBytes } : {};
}

/**
 * The largest `n <= limit` such that `bytes[0, n)` does not end inside a UTF-8 character that
 * `bytes` continues past it: backs off over at most 3 continuation bytes to the start of a
 * character that would not fit whole. Bytes that were never valid UTF-8 are left alone (they
 * decode to U+FFFD either way).
 */
export function utf8CutPoint(bytes: Buffer, limit: number): number {
  const end = Math.min(limit, bytes.length);
  // Find the start of the last character that begins before `end`.
  let lead = end - 1;
  while (lead >= 0 && lead > end - 4 && ((bytes[lead] ?? 0) & 0xc0) === 0x80) lead -= 1;
  if (lead < 0) return end;
  const b = bytes[lead] ?? 0;
  const need = b >= 0xf0 && b <= 0xf4 ? 4 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xc2 && b <= 0xdf ? 2 : 1;
  return lead + need > end ? lead : end;
}

/** `text` cut to at most `maxBytes` UTF-8 bytes at a character boundary, with what was left out. */
export function cutUtf8(text: string, maxBytes: number): { text: string; droppedBytes: number } {
  const length = Buffer.byteLength(text);
  if (length <= maxBytes) return { text, droppedBytes: 0 };
  const bytes = Buffer.from(text);
  const end = utf8CutPoint(bytes, maxBytes);
  return { text: bytes.toString("utf8", 0, end), droppedBytes: bytes.length - end };
}

/**
 * The unfinished line of each stream. Two, not one: the runtimes copy stdout and stderr
 * concurrently into one file, so one stream's pieces can come between another's.
 */
export class PendingByStream {
  private stdout: PieceJoin | undefined;
  private stderr: PieceJoin | undefined;

  /** Input lines held (in no emitted record yet). */
  get lines(): number {
    return (this.stdout?.lines ?? 0) + (this.stderr?.lines ?? 0);
  }

  get(stream: LogStream): PieceJoin | undefined {
    return stream === "stdout" ? this.stdout : this.stderr;
  }

  set(stream: LogStream, join: PieceJoin | undefined): void {
    if (stream === "stdout") this.stdout = join;
    else this.stderr = join;
  }

  /** Whether the join holding input line `piece` (its first line) is unfinished. */
  holds(piece: number): boolean {
    return this.stdout?.firstPiece === piece || this.stderr?.firstPiece === piece;
  }

  /** Removes and returns the unfinished joins, stdout's first. */
  takeAll(): PieceJoin[] {
    const joins = [this.stdout, this.stderr].filter((j): j is PieceJoin => j !== undefined);
    this.stdout = undefined;
    this.stderr = undefined;
    return joins;
  }
}
