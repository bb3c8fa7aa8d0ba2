import { lstat, realpath } from "node:fs/promises";
import { join } from "node:path";
import { errnoCode } from "../../common/errors.js";
import type { PathFilter } from "./patterns.js";

/**
 * Whether a path below the log root may get a spool link. The log tree is written by containers,
 * so it is hostile: only a plain regular file, reached through real directories only, with a
 * single hard link, qualifies. Anything else is refused with a reason (metric label).
 */
export type Refusal =
  | "not_included" // name does not match include/exclude: not an error
  | "gone" // vanished (or a parent did): not an error
  | "symlink" // a planted symlink (e.g. → /etc/shadow)
  | "not_regular" // FIFO, socket, device, directory
  | "hardlink" // st_nlink > 1: may be a host file the container could hard-link
  | "outside_root" // a directory on the way is a symlink: real path differs
  | "stat_error"; // EACCES, ELOOP, EIO...

export type Eligibility =
  | { ok: true; dev: number; ino: number }
  | { ok: false; reason: Refusal; detail?: string };

/** Refusals that mean someone planted something in the log tree (counted in errors_total). */
export const HOSTILE_REFUSALS: ReadonlySet<Refusal> = new Set([
  "symlink",
  "not_regular",
  "hardlink",
  "outside_root",
]);

/** `root` must already be a real path (no symlinks); `rel` is a normalized relative path. */
export async function checkEligible(root: string, rel: string, filter: PathFilter): Promise<Eligibility> {
  if (!filter(rel)) return { ok: false, reason: "not_included" };
  const abs = join(root, rel);
  let st: Awaited<ReturnType<typeof lstat>>;
  try {
    st = await lstat(abs);
  } catch (e) {
    return goneOr(e);
  }
  if (st.isSymbolicLink()) return { ok: false, reason: "symlink" };
  if (!st.isFile()) return { ok: false, reason: "not_regular" };
  if (st.nlink > 1) return { ok: false, reason: "hardlink", detail: `nlink=${st.nlink}` };
  // lstat of the last component cannot see a symlinked directory on the way; realpath can.
  let real: string;
  try {
    real = await realpath(abs);
  } catch (e) {
    return goneOr(e);
  }
  if (real !== abs) return { ok: false, reason: "outside_root", detail: real };
  return { ok: true, dev: st.dev, ino: st.ino };
}

function goneOr(e: unknown): Eligibility {
  const code = errnoCode(e);
  if (code === "ENOENT" || code === "ENOTDIR") return { ok: false, reason: "gone" };
  return { ok: false, reason: "stat_error", detail: code ?? String(e) };
}
