import { lstatSync, realpathSync, type Stats } from "node:fs";
import { errnoCode } from "../errors.js";

/** Decides by name alone whether a root-relative path is wanted (the logwatcher's include/exclude). */
export type PathFilter = (rel: string) => boolean;

/** A filter that wants every path (callers that chose their files by glob already). */
export const ANY_PATH: PathFilter = () => true;

/**
 * Whether a path below a log root may be read (the logwatcher links it into the spool, the
 * exporter tails it). The log tree is written by containers, so it is hostile: only a plain
 * regular file, reached through real directories only, with a single hard link, qualifies.
 * Anything else is refused with a reason (metric label). A reader then opens it with
 * openConfined (safe-open.ts), which checks the same things again on the descriptor.
 */
export type Refusal =
  | "not_included" // name does not match include/exclude: not an error
  | "gone" // vanished (or a parent did): not an error
  | "symlink" // a planted symlink (e.g. → /etc/shadow)
  | "not_regular" // FIFO, socket, device, directory
  | "hardlink" // st_nlink > 1: may be a host file the container could hard-link
  | "outside_root" // a directory on the way is a symlink: real path differs
  | "stat_error"; // EACCES, ELOOP, EIO...

export type Refused = { ok: false; reason: Refusal; detail?: string };
export type Eligibility = { ok: true; dev: number; ino: number } | Refused;

/** Refusals that mean someone planted something in the log tree (counted in errors_total). */
export const HOSTILE_REFUSALS: ReadonlySet<Refusal> = new Set([
  "symlink",
  "not_regular",
  "hardlink",
  "outside_root",
]);

/** join(root, rel) for a normalized `rel`, without path.normalize's cost (several calls per file). */
export function absUnder(root: string, rel: string): string {
  return root.endsWith("/") ? `${root}${rel}` : `${root}/${rel}`;
}

/** lstat that says "gone" instead of throwing for a missing path (or a missing parent). */
export function lstatOrGone(abs: string): Stats | Refused {
  try {
    return lstatSync(abs);
  } catch (e) {
    return goneOr(e);
  }
}

/**
 * `root` must already be a real path (no symlinks); `rel` is a normalized relative path. `st`, when
 * given, is an lstat of the path the caller just made (the event queue lstats every named entry
 * once, to tell directories from files), so the check costs one more system call (realpath).
 *
 * Synchronous on purpose: a storm brings thousands of paths, and each fs.promises call costs a
 * threadpool round trip (queueing plus thread wake-ups) that outweighs the short syscall it wraps;
 * the caller runs these in small batches between turns of the event loop.
 */
export function checkEligible(root: string, rel: string, filter: PathFilter, st?: Stats): Eligibility {
  if (!filter(rel)) return { ok: false, reason: "not_included" };
  const abs = absUnder(root, rel);
  const got = st ?? lstatOrGone(abs);
  if ("ok" in got) return got;
  if (got.isSymbolicLink()) return { ok: false, reason: "symlink" };
  if (!got.isFile()) return { ok: false, reason: "not_regular" };
  if (got.nlink > 1) return { ok: false, reason: "hardlink", detail: `nlink=${got.nlink}` };
  // lstat of the last component cannot see a symlinked directory on the way; realpath can. It is
  // checked for every file (one libc realpath, a few µs of dcache lookups): a per-directory cache
  // of "verified real" would have to be invalidated by the swap's own inotify event, which may be
  // read only after this file's event, so it would let a file below a just-swapped directory through.
  let real: string;
  try {
    real = realpathSync.native(abs);
  } catch (e) {
    return goneOr(e);
  }
  if (real !== abs) return { ok: false, reason: "outside_root", detail: real };
  return { ok: true, dev: got.dev, ino: got.ino };
}

/** An errno as a refusal: a missing path or parent is "gone", anything else "stat_error". */
export function goneOr(e: unknown): Refused {
  const code = errnoCode(e);
  if (code === "ENOENT" || code === "ENOTDIR") return { ok: false, reason: "gone" };
  return { ok: false, reason: "stat_error", detail: code ?? String(e) };
}
