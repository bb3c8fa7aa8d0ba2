import { constants } from "node:fs";
import { type FileHandle, open, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { errnoCode } from "../../common/errors.js";

const NEWLINE = 0x0a;
/** How much of a file the cursor search reads at a time, from its end backwards. */
const READ_BLOCK = 64 * 1024;

/** The file the follower appends to, in its output directory; rotated ones get ".1", ".2"… */
export const JOURNAL_FILE_NAME = "journal.log";

/** `journal.log`, or its `n`th rotated copy (`journal.log.n`). */
export function journalFilePath(dir: string, n = 0): string {
  return join(dir, n === 0 ? JOURNAL_FILE_NAME : `${JOURNAL_FILE_NAME}.${n}`);
}

/** `__CURSOR` of one line, when the line is a JSON object that has one. */
function cursorOfLine(line: Buffer): string | undefined {
  try {
    const value: unknown = JSON.parse(line.toString("utf8"));
    if (typeof value !== "object" || value === null) return undefined;
    const cursor = (value as Record<string, unknown>).__CURSOR;
    return typeof cursor === "string" && cursor !== "" ? cursor : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The cursor of the last complete line of `path` that has one, reading backwards from the end;
 * bytes after the last "\n" (a line cut by a crash) are not a line. Undefined when the file is
 * missing or has no such line.
 */
export async function lastCursorInFile(path: string): Promise<string | undefined> {
  let fh: FileHandle;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    if (errnoCode(e) === "ENOENT") return undefined;
    throw e;
  }
  try {
    let pos = (await fh.stat()).size;
    // file[pos, pos + buf.length): read, and once a "\n" is seen, ending with it.
    let buf = Buffer.alloc(0);
    let ended = false;
    while (pos > 0) {
      const n = Math.min(READ_BLOCK, pos);
      pos -= n;
      const block = Buffer.alloc(n);
      const { bytesRead } = await fh.read(block, 0, n, pos);
      buf = Buffer.concat([block.subarray(0, bytesRead), buf]);
      if (!ended) {
        const last = buf.lastIndexOf(NEWLINE);
        if (last < 0) continue;
        buf = buf.subarray(0, last + 1);
        ended = true;
      }
      // Lines whose start is known: after an earlier "\n" in buf, or at the file's start.
      for (;;) {
        // (A negative offset would count from the end: a lone "\n" is a line starting at 0.)
        const start = buf.length >= 2 ? buf.lastIndexOf(NEWLINE, buf.length - 2) + 1 : 0;
        if (start === 0 && pos > 0) break;
        const cursor = cursorOfLine(buf.subarray(start, buf.length - 1));
        if (cursor !== undefined) return cursor;
        if (start === 0) return undefined;
        buf = buf.subarray(0, start);
      }
    }
    return undefined;
  } finally {
    await fh.close();
  }
}

/**
 * The cursor the follower resumes after: the last one written to `journal.log`, or, when that is
 * missing or has none yet (just rotated), to the newest rotated copy that has one.
 */
export async function lastWrittenCursor(dir: string, keepFiles: number): Promise<string | undefined> {
  for (let n = 0; n <= keepFiles; n++) {
    const cursor = await lastCursorInFile(journalFilePath(dir, n));
    if (cursor !== undefined) return cursor;
  }
  return undefined;
}

/**
 * `journal.log` open for appending whole lines, rotated by rename as logrotate does (the shipper
 * keeps reading a renamed file to its end): `journal.log` → `.1` → `.2` … up to `keepFiles`
 * copies, the oldest deleted.
 */
export class JournalOutputFile {
  private constructor(
    private readonly dir: string,
    private readonly maxFileBytes: number,
    private readonly keepFiles: number,
    private fh: FileHandle,
    private size: number,
  ) {}

  /**
   * Opens (creates, 0640) `journal.log` in `dir`. A file not ending with "\n" (its last line cut by
   * a crash or a full disk) gets one: the cut line becomes a line of its own, which the decoder
   * reports as `journal_json_invalid`, and its entry comes again after the last whole line's cursor.
   * Truncating it away instead would look to the shipper like a copytruncate and be read again.
   */
  static async open(dir: string, maxFileBytes: number, keepFiles: number): Promise<JournalOutputFile> {
    const fh = await openForAppend(journalFilePath(dir));
    try {
      let size = (await fh.stat()).size;
      if (size > 0) {
        const last = Buffer.alloc(1);
        await fh.read(last, 0, 1, size - 1);
        if (last[0] !== NEWLINE) {
          await writeAll(fh, Buffer.from("\n"));
          size += 1;
        }
      }
      return new JournalOutputFile(dir, maxFileBytes, keepFiles, fh, size);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  /**
   * Appends `lines` (each a whole line), rotating first whenever the next line would take a
   * non-empty file past `maxFileBytes`: a file ends at a line boundary at or below the bound
   * (unless a single line is longer). Returns how many rotations it made.
   */
  async append(lines: readonly Buffer[]): Promise<number> {
    let rotations = 0;
    let from = 0;
    let batchBytes = 0;
    for (let i = 0; i < lines.length; i++) {
      const length = lines[i]?.length ?? 0;
      if (this.size + batchBytes > 0 && this.size + batchBytes + length > this.maxFileBytes) {
        await this.write(lines.slice(from, i), batchBytes);
        await this.rotate();
        rotations += 1;
        from = i;
        batchBytes = 0;
      }
      batchBytes += length;
    }
    await this.write(lines.slice(from), batchBytes);
    return rotations;
  }

  private async write(lines: readonly Buffer[], bytes: number): Promise<void> {
    if (lines.length === 0) return;
    await writeAll(this.fh, lines.length === 1 && lines[0] ? lines[0] : Buffer.concat(lines, bytes));
    this.size += bytes;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }

  private async rotate(): Promise<void> {
    await unlinkIfThere(journalFilePath(this.dir, this.keepFiles));
    for (let n = this.keepFiles - 1; n >= 0; n--) {
      await renameIfThere(journalFilePath(this.dir, n), journalFilePath(this.dir, n + 1));
    }
    const next = await openForAppend(journalFilePath(this.dir));
    await this.fh.close();
    this.fh = next;
    this.size = 0;
  }
}

/** Read-write so that open() can look at the last byte; writes go to the end (O_APPEND). */
async function openForAppend(path: string): Promise<FileHandle> {
  return open(path, constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o640);
}

/** Writes all of `bytes` (a write may take fewer, e.g. on a nearly full disk: the rest then fails loudly). */
async function writeAll(fh: FileHandle, bytes: Buffer): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await fh.write(bytes, done, bytes.length - done);
    done += bytesWritten;
  }
}

async function unlinkIfThere(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (e) {
    if (errnoCode(e) !== "ENOENT") throw e;
  }
}

async function renameIfThere(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (e) {
    if (errnoCode(e) !== "ENOENT") throw e;
  }
}
