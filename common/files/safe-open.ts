import { constants, type Stats } from "node:fs";
import { type FileHandle, open, readlink } from "node:fs/promises";
import { errnoCode } from "../errors.js";
import { goneOr, type Refused } from "./eligibility.js";

/**
 * O_NOFOLLOW: a symlink as the last component fails (ELOOP) instead of being followed.
 * O_NONBLOCK: a FIFO swapped in after the lstat opens at once instead of blocking a thread until
 * a writer comes (reads of a regular file ignore the flag). O_NOCTTY: a terminal never becomes
 * ours. libuv adds O_CLOEXEC.
 */
export const SAFE_OPEN_FLAGS =
  constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;

export type Opened = { ok: true; handle: FileHandle; stat: Stats };

/** The inode the caller examined (checkEligible) and means to read. */
export interface Identity {
  readonly dev: number;
  readonly ino: number;
}

/**
 * Opens a log file for reading without trusting the path: checkEligible looked at the path a
 * moment ago, but a container can swap what it names in between. So the descriptor itself is
 * checked: a regular file with one link, the inode `expect` says (when given), and its real path
 * (`/proc/self/fd/N`, which the kernel resolves from the open file, not from the name) inside
 * `realRoot`. A symlinked directory slipped in on the way therefore ends here, closed before a
 * byte is read. `realRoot` must itself be a real path.
 */
export async function openConfined(
  abs: string,
  realRoot: string,
  expect?: Identity,
): Promise<Opened | Refused> {
  let handle: FileHandle;
  try {
    handle = await open(abs, SAFE_OPEN_FLAGS);
  } catch (e) {
    return openRefusal(e);
  }
  let refusal: Refused | undefined;
  let stat: Stats | undefined;
  try {
    stat = await handle.stat();
    refusal = checkDescriptor(stat, expect) ?? (await checkConfined(handle.fd, realRoot));
  } catch (e) {
    refusal = goneOr(e);
  }
  if (refusal || !stat) {
    await handle.close().catch(() => undefined);
    return refusal ?? { ok: false, reason: "stat_error" };
  }
  return { ok: true, handle, stat };
}

function checkDescriptor(st: Stats, expect: Identity | undefined): Refused | undefined {
  if (!st.isFile()) return { ok: false, reason: "not_regular" };
  if (st.nlink > 1) return { ok: false, reason: "hardlink", detail: `nlink=${st.nlink}` };
  if (expect && (st.dev !== expect.dev || st.ino !== expect.ino))
    return { ok: false, reason: "gone", detail: "replaced" };
  return undefined;
}

async function checkConfined(fd: number, realRoot: string): Promise<Refused | undefined> {
  let real = await readlink(`/proc/self/fd/${fd}`);
  // Unlinked since the open: the kernel names its last path so. Still a file we may read to the end.
  if (real.endsWith(" (deleted)")) real = real.slice(0, -" (deleted)".length);
  return isInside(real, realRoot) ? undefined : { ok: false, reason: "outside_root", detail: real };
}

/** Whether `path` is `root` or below it; both absolute and normalized. */
export function isInside(path: string, root: string): boolean {
  if (root === "/") return path.startsWith("/");
  return path === root || path.startsWith(`${root}/`);
}

function openRefusal(e: unknown): Refused {
  const code = errnoCode(e);
  if (code === "ELOOP") return { ok: false, reason: "symlink" };
  if (code === "ENXIO" || code === "ENODEV") return { ok: false, reason: "not_regular", detail: code };
  return goneOr(e);
}
