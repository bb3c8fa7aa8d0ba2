import { closeSync, openSync, readFileSync, readSync } from "node:fs";
import type { CgroupFileSource, ReadFailure } from "../cgroup/fsread.js";
import { errnoCode } from "../common/errors.js";

const BUF_SIZE = 65536;

/** How long a missing file is taken as still missing (v2 files appear when a parent enables a controller). */
export const MISSING_RECHECK_MS = 60_000;

/**
 * The exporter's file source for cgroup/'s readers: cgroup files read through descriptors kept
 * open between scrapes. Re-reading a kernfs/seq_file at offset 0 regenerates its content, so one
 * pread replaces open+fstat+read+close: with hundreds of containers, thousands of files a scrape,
 * the difference between a 5 s scrape interval being cheap or not (docs/benchmarks.md, Exporter).
 * The shim's one-cgroup reads keep cgroup/'s default (open per read).
 *
 * Files the readers mark shared (ancestors' limits: /docker, /kubepods... are every container's
 * ancestors) are read once per scrape and answered from memory for the other containers.
 *
 * Descriptors untouched for a whole scrape are closed (containers gone). A removed cgroup's
 * descriptor fails (ENODEV); it is closed and the path reopened once. EMFILE: read uncached.
 *
 * A file found missing is not opened again for MISSING_RECHECK_MS: a failed open costs a thrown
 * error (dearer than a pread of memory.stat), and some files are missing in every container
 * of a host (v1 without BFQ: blkio.bfq.*; hybrid hosts whose runtime makes no unified directory:
 * the pressure files), hundreds of times per scrape otherwise.
 */
export class CgroupFileCache implements CgroupFileSource {
  private readonly fds = new Map<string, { fd: number; usedIn: number }>();
  private readonly buf = Buffer.alloc(BUF_SIZE);
  private shared = new Map<string, string | ReadFailure>();
  /** Failures are frequent (optional files absent in every container) and alike: one object per errno. */
  private readonly failures = new Map<string, ReadFailure>();
  private readonly missing = new Map<string, { since: number; usedIn: number; failure: ReadFailure }>();
  /** dir → file name → path: one path string per file, whose hash V8 keeps (readIn). */
  private readonly paths = new Map<string, { usedIn: number; names: Map<string, string> }>();
  private scrapeId = 0;
  private scrapeStart = 0;
  private noMoreFds = false;

  /** `now`: the clock missing files are timed with (tests pass their own). */
  constructor(private readonly now: () => number = Date.now) {}

  /** Starts a scrape: closes descriptors not used during the previous one, forgets shared files. */
  beginScrape(scrapeId: number): void {
    for (const [path, e] of this.fds) {
      if (e.usedIn < this.scrapeId) {
        closeQuiet(e.fd);
        this.fds.delete(path);
      }
    }
    for (const [path, m] of this.missing) if (m.usedIn < this.scrapeId) this.missing.delete(path);
    for (const [dir, d] of this.paths) if (d.usedIn < this.scrapeId) this.paths.delete(dir);
    this.scrapeId = scrapeId;
    this.scrapeStart = this.now();
    this.noMoreFds = false;
    this.shared = new Map();
  }

  /** The file's text, or why it could not be read. */
  read(path: string): string | ReadFailure {
    const miss = this.missing.get(path);
    if (miss !== undefined) {
      if (this.scrapeStart - miss.since < MISSING_RECHECK_MS) {
        miss.usedIn = this.scrapeId;
        return miss.failure;
      }
      this.missing.delete(path);
    }
    let failure: ReadFailure = FAILED;
    for (let attempt = 0; attempt < 2; attempt++) {
      let entry = this.fds.get(path);
      if (!entry) {
        if (this.noMoreFds) return this.readUncached(path);
        let fd: number;
        try {
          fd = openSync(path, "r");
        } catch (e) {
          const code = errnoCode(e);
          if (code === "EMFILE" || code === "ENFILE") {
            this.noMoreFds = true;
            return this.readUncached(path);
          }
          const f = this.failureOf(code);
          if (code === "ENOENT" || code === "ENOTDIR")
            this.missing.set(path, { since: this.scrapeStart, usedIn: this.scrapeId, failure: f });
          return f;
        }
        entry = { fd, usedIn: this.scrapeId };
        this.fds.set(path, entry);
      }
      entry.usedIn = this.scrapeId;
      try {
        const n = readSync(entry.fd, this.buf, 0, BUF_SIZE, 0);
        if (n < BUF_SIZE) return this.buf.toString("latin1", 0, n);
        return this.readUncached(path); // larger than the buffer: rare (huge memory.stat), read whole
      } catch (e) {
        failure = this.failureOf(errnoCode(e));
        closeQuiet(entry.fd);
        this.fds.delete(path);
      }
    }
    return failure;
  }

  /** The file `name` in `dir`, through the path string kept for it. */
  readIn(dir: string, name: string): string | ReadFailure {
    let d = this.paths.get(dir);
    if (d === undefined) {
      d = { usedIn: this.scrapeId, names: new Map() };
      this.paths.set(dir, d);
    }
    d.usedIn = this.scrapeId;
    let path = d.names.get(name);
    if (path === undefined) {
      path = `${dir}/${name}`;
      d.names.set(name, path);
    }
    return this.read(path);
  }

  /** An ancestor's file: read at most once per scrape. */
  readShared(path: string): string | ReadFailure {
    let r = this.shared.get(path);
    if (r === undefined) {
      r = this.read(path);
      this.shared.set(path, r);
    }
    return r;
  }

  private failureOf(code: string | undefined): ReadFailure {
    if (code === undefined) return FAILED;
    let f = this.failures.get(code);
    if (f === undefined) {
      f = Object.freeze({ code });
      this.failures.set(code, f);
    }
    return f;
  }

  private readUncached(path: string): string | ReadFailure {
    try {
      return readFileSync(path, "latin1");
    } catch (e) {
      return this.failureOf(errnoCode(e));
    }
  }

  close(): void {
    for (const e of this.fds.values()) closeQuiet(e.fd);
    this.fds.clear();
  }

  get openCount(): number {
    return this.fds.size;
  }
}

const FAILED: ReadFailure = Object.freeze({ code: "error" });

function closeQuiet(fd: number): void {
  try {
    closeSync(fd);
  } catch {}
}
