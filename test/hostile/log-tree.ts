import { execFileSync } from "node:child_process";
import {
  appendFileSync,
  closeSync,
  ftruncateSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { readdir, readlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * A hostile log tree, as a container can make it: the standing input every reader of the log tree
 * (exporter log rules, logwatcher spool, shipper) must survive. Every line a reader must never see
 * lives outside the root and contains SECRET (and ERROR, so a rule for real errors would count it
 * too); real files inside the root hold ERROR or REPLACED lines only.
 */
export interface HostileTree {
  readonly base: string;
  /** The log root. */
  readonly root: string;
  /** Host files the container points at; nothing below it may ever be opened. */
  readonly outside: string;
}

export const SECRET_LINE = "ERROR SECRET host file line\n";
export const SECRET_FILE_OUTSIDE_ROOT = "/etc/shadow";

/** A temp dir with `log/` (the root) and `outside/` (host files), removed after the test. */
export function makeHostileTree(t: TestContext): HostileTree {
  const base = mkdtempSync(join(tmpdir(), "boxscope-test-hostile-"));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  const root = join(base, "log");
  const outside = join(base, "outside");
  mkdirSync(root);
  mkdirSync(join(outside, "dir"), { recursive: true });
  execFileSync("mkfifo", [join(outside, "fifo")]);
  return { base, root, outside };
}

/**
 * Plants, in `<root>/<dir>`, everything the log-tree rules refuse: a symlink to a FIFO inside the
 * root and a FIFO named *.log, a symlink to a FIFO outside, symlinks to files outside (one of them
 * /etc/shadow) and to a real log file inside, a symlinked directory pointing outside, and a hard
 * link to a file outside. Returns the planted paths relative to the root.
 */
export function plantHostile(tree: HostileTree, dir: string): string[] {
  const d = join(tree.root, dir);
  const out = join(tree.outside, dir);
  mkdirSync(d, { recursive: true });
  mkdirSync(join(out, "dir"), { recursive: true });
  writeFileSync(join(out, "secret.log"), SECRET_LINE.repeat(3));
  writeFileSync(join(out, "dir", "secret.log"), SECRET_LINE.repeat(3));
  writeFileSync(join(out, "hard-source.log"), SECRET_LINE.repeat(3));
  execFileSync("mkfifo", [join(d, "fifo")]);
  symlinkSync("fifo", join(d, "fifo-link.log"));
  execFileSync("mkfifo", [join(d, "fifo.log")]);
  symlinkSync(join(tree.outside, "fifo"), join(d, "outside-fifo.log"));
  symlinkSync(join(out, "secret.log"), join(d, "secret.log"));
  symlinkSync(SECRET_FILE_OUTSIDE_ROOT, join(d, "shadow.log"));
  symlinkSync(join(out, "dir"), join(d, "outdir"));
  linkSync(join(out, "hard-source.log"), join(d, "hard.log"));
  return [
    "fifo-link.log",
    "fifo.log",
    "outside-fifo.log",
    "secret.log",
    "shadow.log",
    "outdir",
    "hard.log",
  ].map((n) => `${dir}/${n}`);
}

/** More secret lines in every outside file (a reader following from the end would see these). */
export function appendSecrets(tree: HostileTree, dir: string): void {
  const out = join(tree.outside, dir);
  for (const f of ["secret.log", "dir/secret.log", "hard-source.log"])
    appendFileSync(join(out, f), SECRET_LINE);
}

/** A sparse file of `bytes` (zeros, no newline) at `<root>/<rel>`: a huge backlog costing no disk. */
export function plantSparse(tree: HostileTree, rel: string, bytes = 2 * 1024 ** 3): void {
  mkdirSync(join(tree.root, rel, ".."), { recursive: true });
  const fd = openSync(join(tree.root, rel), "w");
  ftruncateSync(fd, bytes);
  closeSync(fd);
}

/**
 * Replaces `<root>/<rel>` by renaming a new file over it, as fast as the event loop lets it, until
 * stopped; each file holds one `REPLACED n` line. `stop()` returns how many were written.
 */
export function replaceRapidly(tree: HostileTree, rel: string): { stop(): Promise<number> } {
  const path = join(tree.root, rel);
  mkdirSync(join(path, ".."), { recursive: true });
  let n = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const tmp = `${path}.tmp`;
      writeFileSync(tmp, `REPLACED ${n}\n`);
      renameSync(tmp, path);
      n++;
      await sleep(2);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return n;
    },
  };
}

/**
 * Samples the files process `pid` holds open (`/proc/PID/fd`, links resolved by the kernel) until
 * stopped; returns every distinct target seen. Asynchronous, so the caller's own probes run
 * between samples.
 */
export function sampleOpenFiles(pid: number): { stop(): Promise<Set<string>> } {
  const seen = new Set<string>();
  let running = true;
  const loop = (async () => {
    while (running) {
      let fds: string[] = [];
      try {
        fds = await readdir(`/proc/${pid}/fd`);
      } catch {
        return; // exited
      }
      await Promise.all(
        fds.map(async (fd) => {
          const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => undefined);
          if (target?.startsWith("/")) seen.add(target.replace(/ \(deleted\)$/, ""));
        }),
      );
      await sleep(5);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return seen;
    },
  };
}

/** The opened paths that break the rules: anything outside `root` below `base`, or the host file. */
export function openedOutside(opened: Iterable<string>, tree: HostileTree): string[] {
  return [...opened].filter(
    (p) =>
      p === SECRET_FILE_OUTSIDE_ROOT ||
      p.startsWith(`${tree.outside}/`) ||
      (p.startsWith(`${tree.base}/`) && p !== tree.root && !p.startsWith(`${tree.root}/`)),
  );
}
