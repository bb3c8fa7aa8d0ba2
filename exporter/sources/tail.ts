import { closeSync, fstatSync, openSync, readSync, statSync } from "node:fs";
import { glob } from "tinyglobby";
import type { Logger } from "../../common/logger.js";

interface Tracked {
  fd: number;
  ino: number;
  offset: number;
  partial: string;
  globs: Set<number>;
}

const CHUNK = 65536;
/** A "line" longer than this without a newline is cut, so a binary file cannot grow memory. */
const MAX_LINE = 65536;

/**
 * Follows every file matching a set of globs, from the end for files present at start and from the
 * beginning for files that appear later, delivering complete new lines. Polling (not inotify): it
 * works on every filesystem and bounds the cost to one stat per file per poll. Rotation (the path
 * now names another inode): the old file is read to its end, then the new one from 0.
 * Truncation (size below our offset): restart at 0.
 */
export class FileTailer {
  private readonly files = new Map<string, Tracked>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private started = false;

  constructor(
    private readonly globs: readonly string[],
    private readonly pollMs: number,
    private readonly onLine: (globIndex: number, line: string, path: string) => void,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    await this.poll();
    this.started = true;
    this.timer = setInterval(() => {
      this.polling ??= this.poll().finally(() => {
        this.polling = undefined;
      });
    }, this.pollMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.polling;
    for (const t of this.files.values()) closeSync(t.fd);
    this.files.clear();
  }

  /** One pass: expand globs, follow new/rotated/truncated files, deliver new lines. */
  async poll(): Promise<void> {
    const seen = new Map<string, Set<number>>();
    await Promise.all(
      this.globs.map(async (pattern, i) => {
        let paths: string[];
        try {
          paths = await glob(pattern, { absolute: true, onlyFiles: true, followSymbolicLinks: true });
        } catch (e) {
          this.logger.warn({ err: e, pattern }, "log rule glob failed");
          return;
        }
        for (const p of paths) {
          const set = seen.get(p) ?? new Set<number>();
          set.add(i);
          seen.set(p, set);
        }
      }),
    );
    for (const [path, t] of this.files) {
      if (!seen.has(path)) {
        this.readNew(path, t); // deleted or renamed away: finish what was written
        closeSync(t.fd);
        this.files.delete(path);
      }
    }
    for (const [path, globs] of seen) {
      const t = this.files.get(path);
      if (!t) {
        this.open(path, globs, this.started ? 0 : undefined);
        continue;
      }
      t.globs = globs;
      let ino: number;
      try {
        ino = statSync(path).ino;
      } catch {
        continue;
      }
      if (ino !== t.ino) {
        this.readNew(path, t);
        closeSync(t.fd);
        this.files.delete(path);
        this.open(path, globs, 0);
      } else {
        this.readNew(path, t);
      }
    }
  }

  /** offset undefined = start at the current end (files present when the exporter starts). */
  private open(path: string, globs: Set<number>, offset: number | undefined): void {
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch (e) {
      this.logger.warn({ err: e, path }, "cannot open log file");
      return;
    }
    const st = fstatSync(fd);
    const t: Tracked = { fd, ino: st.ino, offset: offset ?? st.size, partial: "", globs };
    this.files.set(path, t);
    if (offset !== undefined) this.readNew(path, t);
  }

  private readNew(path: string, t: Tracked): void {
    const size = fstatSync(t.fd).size;
    if (size < t.offset) {
      t.offset = 0; // truncated (copytruncate rotation)
      t.partial = "";
    }
    const buf = Buffer.alloc(CHUNK);
    while (t.offset < size) {
      const n = readSync(t.fd, buf, 0, Math.min(CHUNK, size - t.offset), t.offset);
      if (n <= 0) break;
      t.offset += n;
      const text = t.partial + buf.toString("utf8", 0, n);
      const lines = text.split("\n");
      t.partial = lines.pop() ?? "";
      if (t.partial.length > MAX_LINE) t.partial = "";
      for (const line of lines) for (const g of t.globs) this.onLine(g, line, path);
    }
  }
}
