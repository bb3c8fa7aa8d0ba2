import { closeSync, openSync, readFileSync, readSync } from "node:fs";
import { errnoCode } from "../common/errors.js";

const BUF_SIZE = 65536;

/**
 * Reads cgroup files through descriptors kept open between scrapes: re-reading a kernfs/seq_file
 * at offset 0 regenerates its content, so one pread replaces open+fstat+read+close. Measured here
 * with 500 container cgroups: 4000 files in ~25 ms instead of ~100–170 ms with readFileSync —
 * the difference between a 5 s scrape interval being cheap or not. Why not cgroup/'s readers: they
 * open each file per call, which is right for the shim's one-cgroup reads but not for 500 per scrape;
 * the parsing is still theirs.
 *
 * Descriptors untouched for a whole scrape are closed (containers gone). A removed cgroup's
 * descriptor fails (ENODEV); it is closed and the path reopened once. EMFILE: read uncached.
 */
export class CgroupFileCache {
  private readonly fds = new Map<string, { fd: number; usedIn: number }>();
  private readonly buf = Buffer.alloc(BUF_SIZE);
  private scrapeId = 0;
  private noMoreFds = false;

  /** Starts a scrape: closes descriptors not used during the previous one. */
  beginScrape(scrapeId: number): void {
    for (const [path, e] of this.fds) {
      if (e.usedIn < this.scrapeId) {
        closeQuiet(e.fd);
        this.fds.delete(path);
      }
    }
    this.scrapeId = scrapeId;
    this.noMoreFds = false;
  }

  /** The file's text, or undefined when it does not exist / cannot be read. */
  read(path: string): string | undefined {
    for (let attempt = 0; attempt < 2; attempt++) {
      let entry = this.fds.get(path);
      if (!entry) {
        if (this.noMoreFds) return readUncached(path);
        let fd: number;
        try {
          fd = openSync(path, "r");
        } catch (e) {
          if (errnoCode(e) === "EMFILE" || errnoCode(e) === "ENFILE") {
            this.noMoreFds = true;
            return readUncached(path);
          }
          return undefined;
        }
        entry = { fd, usedIn: this.scrapeId };
        this.fds.set(path, entry);
      }
      entry.usedIn = this.scrapeId;
      try {
        const n = readSync(entry.fd, this.buf, 0, BUF_SIZE, 0);
        if (n < BUF_SIZE) return this.buf.toString("latin1", 0, n);
        return readUncached(path); // larger than the buffer: rare (huge memory.stat), read whole
      } catch {
        closeQuiet(entry.fd);
        this.fds.delete(path);
      }
    }
    return undefined;
  }

  close(): void {
    for (const e of this.fds.values()) closeQuiet(e.fd);
    this.fds.clear();
  }

  get openCount(): number {
    return this.fds.size;
  }
}

function readUncached(path: string): string | undefined {
  try {
    return readFileSync(path, "latin1");
  } catch {
    return undefined;
  }
}

function closeQuiet(fd: number): void {
  try {
    closeSync(fd);
  } catch {}
}
