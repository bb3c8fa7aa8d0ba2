import { type Dirent, type FSWatcher, lstatSync, readdirSync, watch } from "node:fs";
import { join } from "node:path";
import { errnoCode } from "../../common/errors.js";

/** What the directory watches report. */
export interface InotifyDirsEvents {
  /** A name in a watched directory was created, deleted or renamed (or listed in a new directory). */
  entry(rel: string, eventAt: number): void;
  /** The kernel refused a watch on `relDir` (ENOSPC: max_user_watches; EMFILE: max_user_instances). */
  unwatchable(relDir: string, code: string): void;
  error(reason: string, err: unknown): void;
}

/**
 * One `fs.watch` (an inotify watch, the name of the entry reported) per directory of the tree,
 * files not watched, symlinks never followed. Written instead of chokidar's inotify mode, which
 * the logwatcher used before: on every event in a directory chokidar 4 reads that directory again
 * (readdir plus an lstat of every entry, to find what changed), which in a storm of 10,000 new
 * files cost as much CPU as the linking itself and was the larger part of the backlog
 * (docs/logwatcher.md "Performance"). inotify already names the entry; the caller lstats just that.
 *
 * A new directory is watched first and listed second, so no file made in it is missed: what was
 * there before the watch is in the listing, what comes after is an event (both may report one
 * file: the caller's queue merges them). chokidar lists first and watches second, which needed a
 * second listing of every new directory.
 *
 * inotify's queue overflow (IN_Q_OVERFLOW) is not reported by Node; the caller's catch-up pass
 * covers it. A directory deleted or renamed away is reported by its parent's watch as an entry;
 * the caller then calls forget().
 */
export class InotifyDirs {
  /** Watched directory → its watch and the inode it was made on (the watch follows the inode). */
  private readonly watches = new Map<string, { w: FSWatcher; ino: number }>();

  constructor(
    private readonly root: string,
    private readonly events: InotifyDirsEvents,
    /** Directories not to watch with inotify (subtrees polled after ENOSPC). */
    private readonly skip: (relDir: string) => boolean,
  ) {}

  get size(): number {
    return this.watches.size;
  }

  isWatched(relDir: string): boolean {
    return this.watches.has(relDir);
  }

  /** The inode the watch on `relDir` follows: a directory renamed away and made again differs. */
  watchedIno(relDir: string): number | undefined {
    return this.watches.get(relDir)?.ino;
  }

  /**
   * Watches `relDir` and every directory below it not watched yet; `announceAt` (an event time)
   * reports every other entry found (a new directory's files), undefined reports none (start-up,
   * where the reconcile pass looks at every file).
   */
  watchTree(relDir: string, announceAt: number | undefined): void {
    const stack = [relDir];
    while (stack.length > 0) {
      const dir = stack.pop() as string;
      if (this.watches.has(dir) || this.skip(dir)) continue;
      const abs = dir === "" ? this.root : join(this.root, dir);
      const child = (name: string): string => (dir === "" ? name : `${dir}/${name}`);
      let w: FSWatcher;
      try {
        w = watch(abs, { persistent: true }, (type, name) => {
          // "change" is a write or an attribute change to an entry: no spool work.
          if (type !== "rename") return;
          if (typeof name === "string" && name.length > 0) this.events.entry(child(name), performance.now());
          else this.relist(dir); // no name: look at the whole directory again
        });
      } catch (e) {
        const code = errnoCode(e);
        if (code === "ENOSPC" || code === "EMFILE") this.events.unwatchable(dir, code);
        else if (code !== "ENOENT" && code !== "ENOTDIR") this.events.error(code ?? "watch", e);
        continue;
      }
      w.on("error", (e) => this.events.error(errnoCode(e) ?? "watch", e));
      let entries: Dirent[];
      try {
        // lstat after the watch exists: a directory swapped for another in between shows its new
        // inode here, and the swap is an event of the parent, which compares inodes.
        const st = lstatSync(abs);
        this.watches.set(dir, { w, ino: st.ino });
        if (!st.isDirectory()) continue; // swapped for a symlink or a file: its parent's event forgets it
        entries = readdirSync(abs, { withFileTypes: true });
      } catch (e) {
        const code = errnoCode(e);
        if (code !== "ENOENT" && code !== "ENOTDIR") this.events.error(code ?? "readdir", e);
        if (!this.watches.has(dir)) w.close(); // gone before the lstat: nothing to watch
        continue;
      }
      for (const d of entries) {
        // d_type from readdir: a symlink to a directory is a symlink here, never entered.
        if (d.isDirectory()) stack.push(child(d.name));
        else if (announceAt !== undefined) this.events.entry(child(d.name), announceAt);
      }
    }
  }

  /** Stops watching `relDir` and everything below it; false when it was not watched. */
  forget(relDir: string): boolean {
    const got = this.watches.get(relDir);
    if (!got) return false;
    got.w.close();
    this.watches.delete(relDir);
    const prefix = relDir === "" ? "" : `${relDir}/`;
    for (const [d, below] of this.watches) {
      if (d.startsWith(prefix)) {
        below.w.close();
        this.watches.delete(d);
      }
    }
    return true;
  }

  /** Watched directories (for the catch-up pass's comparison with the tree). */
  watchedDirs(): IterableIterator<string> {
    return this.watches.keys();
  }

  close(): void {
    for (const { w } of this.watches.values()) w.close();
    this.watches.clear();
  }

  private relist(dir: string): void {
    const abs = dir === "" ? this.root : join(this.root, dir);
    let names: string[];
    try {
      names = readdirSync(abs);
    } catch {
      return;
    }
    const at = performance.now();
    for (const n of names) this.events.entry(dir === "" ? n : `${dir}/${n}`, at);
  }
}
