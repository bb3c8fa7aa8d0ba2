/**
 * Splits a file's bytes into lines with their byte offsets. Pure: the tailer feeds it chunks in file
 * order. Written by hand because it must keep byte offsets (the line's identity downstream), cap
 * huge lines without holding them in memory, and survive invalid UTF-8; line-reading libraries
 * give strings without offsets.
 */
export interface RawLine {
  /** Byte offset of the line's first byte. */
  offset: number;
  /** Byte offset just past the line's newline (or its last byte when flushed without one). */
  end: number;
  /** Decoded text without the newline; invalid UTF-8 becomes U+FFFD. */
  text: string;
  /** The line was longer than the cap; `text` holds its first `maxLineBytes` bytes. */
  truncated: boolean;
}

/**
 * One complete line as bytes, without a string. The splitter hands every line out in the same
 * object, refilled: it is valid only during the sink's call.
 */
export interface LineBytes {
  /** Holds the line's kept bytes (newline and a trailing CR removed) at [start, stop). */
  src: Buffer;
  start: number;
  stop: number;
  /** Where the line lies in the file: its first byte's offset, and the offset past its newline (as in RawLine). */
  offset: number;
  end: number;
  /** The line was longer than the cap; `src[start, stop)` holds its first `maxLineBytes` bytes. */
  truncated: boolean;
}

/** Receives each complete line as bytes (see LineBytes). */
export type LineBytesSink = (line: Readonly<LineBytes>) => void;

/** What a LinesBulkSink took: the position after its last line, and how many lines. */
export interface BulkResult {
  to: number;
  records: number;
}

/**
 * Bytes a LinesBulkSink may take complete lines from, refilled like LineBytes: `src[from, to)`,
 * whose first byte is at file offset `offset`; lines longer than `maxLineBytes` are capped.
 */
export interface LinesRun {
  src: Buffer;
  from: number;
  to: number;
  offset: number;
  maxLineBytes: number;
}

/**
 * Takes as many complete lines of a run as it can in one go; returns where it stopped and how many
 * it took. Taking none hands the next line to the LineBytesSink instead.
 */
export type LinesBulkSink = (run: Readonly<LinesRun>) => BulkResult;

const NO_BYTES = Buffer.alloc(0);

export class LineSplitter {
  private parts: Buffer[] = [];
  private kept = 0;
  private dropped = 0;
  private start: number;
  /** What scan hands its sinks, refilled per line or run (no object per line on the hot path). */
  private readonly line: LineBytes = {
    src: NO_BYTES,
    start: 0,
    stop: 0,
    offset: 0,
    end: 0,
    truncated: false,
  };
  private readonly run: LinesRun = { src: NO_BYTES, from: 0, to: 0, offset: 0, maxLineBytes: 0 };

  constructor(
    /** Offset of the next byte the splitter will see. */
    private next: number,
    private readonly maxLineBytes: number,
  ) {
    this.start = next;
  }

  /** Bytes waiting for a newline (kept + dropped beyond the cap). */
  get pendingBytes(): number {
    return this.kept + this.dropped;
  }

  /** Offset of the first byte not yet part of a returned line. */
  get pendingStart(): number {
    return this.start;
  }

  push(chunk: Buffer): RawLine[] {
    const out: RawLine[] = [];
    let from = 0;
    while (from < chunk.length) {
      const nl = chunk.indexOf(10, from);
      const stop = nl === -1 ? chunk.length : nl;
      this.keep(chunk.subarray(from, stop));
      this.next += stop - from;
      if (nl === -1) break;
      this.next += 1;
      out.push(this.take(this.next));
      from = nl + 1;
    }
    return out;
  }

  /**
   * Like `push`, but hands each line to `sink` as bytes (the shipper's hot path: no string and no
   * object per line). A line wholly inside `chunk` is passed as a range of `chunk`; only a line
   * that started in an earlier chunk is joined from the kept parts. With `bulk`, runs of complete
   * lines go to it instead, many per call.
   */
  scan(chunk: Buffer, sink: LineBytesSink, bulk?: LinesBulkSink): number {
    let n = 0;
    let from = 0;
    const len = chunk.length;
    const line = this.line;
    const run = this.run;
    run.src = chunk;
    run.to = len;
    run.maxLineBytes = this.maxLineBytes;
    while (from < len) {
      if (bulk && this.parts.length === 0 && this.dropped === 0) {
        run.from = from;
        run.offset = this.next;
        const taken = bulk(run);
        if (taken.records > 0) {
          n += taken.records;
          this.next += taken.to - from;
          this.start = this.next;
          from = taken.to;
          continue;
        }
      }
      const nl = chunk.indexOf(10, from);
      if (nl === -1) {
        this.keep(chunk.subarray(from));
        this.next += len - from;
        break;
      }
      this.next += nl - from + 1;
      if (this.parts.length === 0 && this.dropped === 0) {
        const truncated = nl - from > this.maxLineBytes;
        let stop = truncated ? from + this.maxLineBytes : nl;
        if (stop > from && chunk[stop - 1] === 13) stop--;
        line.src = chunk;
        line.start = from;
        line.stop = stop;
        line.offset = this.start;
        line.end = this.next;
        line.truncated = truncated;
        sink(line);
        this.start = this.next;
      } else {
        this.keep(chunk.subarray(from, nl));
        this.takeBytes(this.next, sink);
      }
      n++;
      from = nl + 1;
    }
    // Not to keep the caller's buffer alive through the splitter.
    line.src = NO_BYTES;
    run.src = NO_BYTES;
    return n;
  }

  /** `flush` for `scan`: hands the partial line to `sink`; false when there was none. */
  flushTo(sink: LineBytesSink): boolean {
    if (this.pendingBytes === 0) return false;
    this.takeBytes(this.next, sink);
    return true;
  }

  private takeBytes(end: number, sink: LineBytesSink): void {
    const bytes = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.kept);
    let stop = bytes.length;
    if (stop > 0 && bytes[stop - 1] === 13) stop--;
    const line = this.line;
    line.src = bytes;
    line.start = 0;
    line.stop = stop;
    line.offset = this.start;
    line.end = end;
    line.truncated = this.dropped > 0;
    this.parts = [];
    this.kept = 0;
    this.dropped = 0;
    this.start = end;
    sink(line);
    line.src = NO_BYTES;
  }

  /** Emits the partial line (no newline yet) as a line; used after the partial-line timeout. */
  flush(): RawLine | undefined {
    if (this.pendingBytes === 0) return undefined;
    return this.take(this.next);
  }

  private keep(bytes: Buffer): void {
    const room = this.maxLineBytes - this.kept;
    if (room >= bytes.length) {
      if (bytes.length > 0) this.parts.push(Buffer.from(bytes));
      this.kept += bytes.length;
      return;
    }
    if (room > 0) this.parts.push(Buffer.from(bytes.subarray(0, room)));
    this.kept += Math.max(room, 0);
    this.dropped += bytes.length - Math.max(room, 0);
  }

  private take(end: number): RawLine {
    const bytes = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.kept);
    let text = bytes.toString("utf8");
    if (text.endsWith("\r")) text = text.slice(0, -1);
    const line: RawLine = { offset: this.start, end, text, truncated: this.dropped > 0 };
    this.parts = [];
    this.kept = 0;
    this.dropped = 0;
    this.start = end;
    return line;
  }
}
