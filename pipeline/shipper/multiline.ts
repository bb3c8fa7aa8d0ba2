import type { RawLine } from "../../common/files/lines.js";
import type { LineMatcher } from "../../common/regex.js";

/** One log record: a line, or several joined by "\n" when a multi-line pattern is configured. */
export interface LogRecord {
  offset: number;
  end: number;
  text: string;
  truncated: boolean;
  lines: number;
}

/**
 * Joins continuation lines (those NOT matching `firstLine`, e.g. indented Java stack frames under
 * `^\S`) to the record before them. Pure; the tailer decides when an idle record is flushed.
 * Without a pattern every line is its own record.
 */
export class MultilineAssembler {
  private current: LogRecord | undefined;

  constructor(
    private readonly firstLine: LineMatcher | undefined,
    private readonly maxRecordBytes: number,
    private readonly maxLines: number,
  ) {}

  get hasPending(): boolean {
    return this.current !== undefined;
  }

  /** Lines (each ended by its newline) in the record still being assembled. */
  get pendingLines(): number {
    return this.current?.lines ?? 0;
  }

  /** Offset of the first byte of the record still being assembled, if any. */
  get pendingStart(): number | undefined {
    return this.current?.offset;
  }

  push(lines: RawLine[]): LogRecord[] {
    const out: LogRecord[] = [];
    for (const line of lines) {
      if (!this.firstLine) {
        out.push({ ...line, lines: 1 });
        continue;
      }
      const cur = this.current;
      const continues = cur !== undefined && !this.firstLine.test(line.text) && cur.lines < this.maxLines;
      if (cur && continues) {
        const room = this.maxRecordBytes - Buffer.byteLength(cur.text);
        if (!cur.truncated && room >= Buffer.byteLength(line.text) + 1) cur.text += `\n${line.text}`;
        else cur.truncated = true;
        cur.truncated ||= line.truncated;
        cur.end = line.end;
        cur.lines += 1;
        continue;
      }
      if (cur) out.push(cur);
      this.current = { ...line, lines: 1 };
    }
    return out;
  }

  flush(): LogRecord | undefined {
    const cur = this.current;
    this.current = undefined;
    return cur;
  }
}
