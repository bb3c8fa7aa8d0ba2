import type { FileHandle } from "node:fs/promises";
import { realpath } from "node:fs/promises";
import { isAbsolute, relative } from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";
import { glob } from "tinyglobby";
import { errnoCode } from "../../common/errors.js";
import {
  ANY_PATH,
  absUnder,
  checkEligible,
  HOSTILE_REFUSALS,
  type Refusal,
} from "../../common/files/eligibility.js";
import { LineSplitter } from "../../common/files/lines.js";
import { openConfined } from "../../common/files/safe-open.js";
import type { Logger } from "../../common/logger.js";
import { ruleRoot } from "./glob-root.js";

const READ_CHUNK = 65536;
/** A "line" longer than this is cut to its first bytes, so a binary file cannot grow memory. */
const MAX_LINE_BYTES = 65536;
/**
 * Bytes read from one file per poll. A new file's backlog (a 2 GB sparse file) is then read over
 * many polls, each short, instead of holding up the other files' lines until it is done.
 */
export const MAX_BYTES_PER_POLL = 16 * 1024 * 1024;
/** Paths examined (lstat + realpath, synchronous) between turns of the event loop. */
const CHECKS_PER_TURN = 256;

interface Tracked {
  readonly handle: FileHandle;
  path: string;
  pos: number;
  splitter: LineSplitter;
  globs: Set<number>;
}

interface Candidate {
  readonly path: string;
  readonly realRoot: string;
  readonly dev: number;
  readonly ino: number;
  readonly globs: Set<number>;
}

/**
 * Follows every file matching a set of globs, from the end for files present at start and from
 * the beginning for files that appear later, delivering complete new lines. Polling (not inotify):
 * it works on every filesystem and bounds the cost to a few system calls per file per poll.
 *
 * The log tree is written by containers, so it is read under the logwatcher's rules (shared in
 * common/files/): globs never follow symlinks; a file must be a regular file with one link,
 * reached through real directories inside its rule's root (ruleRoot), and is opened with
 * O_NOFOLLOW|O_NONBLOCK and checked again on the descriptor (openConfined). Reads are asynchronous,
 * in chunks, at most MAX_BYTES_PER_POLL per file per poll: the event loop (and /healthz) never
 * waits for a file.
 *
 * Files are followed by inode: a rename to another matching name keeps the position; a rotation
 * (the name now holds a new inode) finishes the old file, then reads the new one from 0.
 * Truncation (size below our position): restart at 0.
 */
export class FileTailer {
  private readonly files = new Map<string, Tracked>();
  private readonly roots: readonly string[];
  private readonly buf = Buffer.alloc(READ_CHUNK);
  /** Paths refused at the last pass, so each planted path is counted and logged once. */
  private refused = new Map<string, Refusal>();
  /** Hostile refusals (symlink, not_regular, hardlink, outside_root) by reason, distinct paths. */
  readonly refusals = new Map<Refusal, number>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private started = false;

  constructor(
    private readonly globs: readonly string[],
    logRoot: string,
    private readonly pollMs: number,
    private readonly onLine: (globIndex: number, line: string, path: string) => void,
    private readonly logger: Logger,
  ) {
    this.roots = globs.map((g) => ruleRoot(g, logRoot));
  }

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
    await Promise.all([...this.files.values()].map((t) => t.handle.close().catch(() => undefined)));
    this.files.clear();
  }

  /** One pass: expand globs, follow new/rotated/truncated files, deliver new lines. */
  async poll(): Promise<void> {
    const refusedNow = new Map<string, Refusal>();
    const found = await this.findFiles(refusedNow);
    for (const [key, t] of this.files) {
      if (found.has(key)) continue;
      // Deleted, renamed away or refused now: finish what was written, then let go.
      this.files.delete(key);
      await this.readNew(t);
      await t.handle.close().catch(() => undefined);
    }
    for (const [key, c] of found) {
      let t = this.files.get(key);
      if (!t) {
        t = await this.open(c, refusedNow);
        if (!t) continue;
        this.files.set(key, t);
      }
      t.globs = c.globs;
      t.path = c.path;
      await this.readNew(t);
    }
    this.noteRefusals(refusedNow);
  }

  /** Eligible files by inode (`dev:ino`), with the globs that matched them. */
  private async findFiles(refusedNow: Map<string, Refusal>): Promise<Map<string, Candidate>> {
    const found = new Map<string, Candidate>();
    let checks = 0;
    for (const [i, pattern] of this.globs.entries()) {
      const root = this.roots[i] as string;
      let realRoot: string;
      let paths: string[];
      try {
        realRoot = await realpath(root);
        paths = await glob(pattern, { absolute: true, onlyFiles: true, followSymbolicLinks: false });
      } catch (e) {
        if (errnoCode(e) !== "ENOENT") this.logger.warn({ err: e, pattern }, "log rule glob failed");
        continue;
      }
      for (const p of paths) {
        if (++checks % CHECKS_PER_TURN === 0) await nextTurn();
        const rel = relative(root, p);
        if (rel === "" || rel === ".." || rel.startsWith("../") || isAbsolute(rel)) {
          refusedNow.set(p, "outside_root");
          continue;
        }
        const v = checkEligible(realRoot, rel, ANY_PATH);
        if (!v.ok) {
          if (HOSTILE_REFUSALS.has(v.reason)) refusedNow.set(p, v.reason);
          continue;
        }
        const key = `${v.dev}:${v.ino}`;
        const c = found.get(key);
        if (c) c.globs.add(i);
        else
          found.set(key, {
            path: absUnder(realRoot, rel),
            realRoot,
            dev: v.dev,
            ino: v.ino,
            globs: new Set([i]),
          });
      }
    }
    return found;
  }

  private async open(c: Candidate, refusedNow: Map<string, Refusal>): Promise<Tracked | undefined> {
    const r = await openConfined(c.path, c.realRoot, c);
    if (!r.ok) {
      if (HOSTILE_REFUSALS.has(r.reason)) refusedNow.set(c.path, r.reason);
      else if (r.reason !== "gone")
        this.logger.warn({ path: c.path, reason: r.reason, detail: r.detail }, "cannot open log file");
      return undefined;
    }
    // Files there at start: only what is written from now on counts.
    const pos = this.started ? 0 : r.stat.size;
    return {
      handle: r.handle,
      path: c.path,
      pos,
      splitter: new LineSplitter(pos, MAX_LINE_BYTES),
      globs: c.globs,
    };
  }

  private async readNew(t: Tracked): Promise<void> {
    let size: number;
    try {
      size = (await t.handle.stat()).size;
    } catch {
      return;
    }
    if (size < t.pos) {
      t.pos = 0; // truncated (copytruncate rotation)
      t.splitter = new LineSplitter(0, MAX_LINE_BYTES);
    }
    let budget = MAX_BYTES_PER_POLL;
    while (t.pos < size && budget > 0) {
      const want = Math.min(READ_CHUNK, size - t.pos, budget);
      let n: number;
      try {
        n = (await t.handle.read(this.buf, 0, want, t.pos)).bytesRead;
      } catch (e) {
        this.logger.warn({ err: e, path: t.path }, "log file read failed");
        return;
      }
      if (n <= 0) break;
      t.pos += n;
      budget -= n;
      for (const line of t.splitter.push(this.buf.subarray(0, n)))
        for (const g of t.globs) this.onLine(g, line.text, t.path);
    }
  }

  private noteRefusals(now: Map<string, Refusal>): void {
    for (const [path, reason] of now) {
      if (this.refused.get(path) === reason) continue;
      this.refusals.set(reason, (this.refusals.get(reason) ?? 0) + 1);
      this.logger.warn({ path, reason }, "log rule: refused a planted file (not read)");
    }
    this.refused = now;
  }
}
