import { lstat, open, readdir } from "node:fs/promises";
import { join } from "node:path";
import { SAFE_OPEN_FLAGS } from "../../common/files/safe-open.js";
import { hashBytes } from "./fingerprint.js";

/**
 * Finding the copy that `copytruncate` (logrotate, or any copy-then-truncate) left beside a file
 * the shipper found truncated or rewritten. Lines written after the shipper's last read and before
 * the truncation exist only in that copy; reading the copy from the old position, under the old
 * identity, recovers them with the record ids a normal read would have produced.
 *
 * The copy is recognised by content, not by name (app.log.1, app.log.2, app.log-20261125 ...): it
 * starts with the same head the file had (the saved fingerprint) and is at least as long as the
 * position to resume from. The cheap checks (regular file, not the truncated inode, size, not a
 * compressed name) run over one directory listing before any byte is read.
 */

/** One directory entry, as `stat` saw it. */
export interface DirEntry {
  name: string;
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  isFile: boolean;
}

/** What the lost content looked like. */
export interface WantedCopy {
  /** The truncated file itself (never its own copy). */
  dev: number;
  ino: number;
  /** Fingerprint of the head before the truncation. */
  fpHash: string;
  fpLength: number;
  /** First byte to read from the copy: it must be at least this long. */
  from: number;
}

export interface FoundCopy {
  path: string;
  dev: number;
  ino: number;
  size: number;
}

/** Names that are compressed (logrotate `compress`) or otherwise not a plain-text copy. */
const NOT_A_PLAIN_COPY = /\.(gz|bz2|xz|zst|lz4|lzma|lz|z|zip|br|tmp|swp)$/i;

/**
 * Pure: the entries that could be the copy, the most recently modified first (when several old
 * copies share a head, the newest is the one the truncation just made). `skip` names inodes that
 * are already being read (a spool file, or a copy adopted earlier).
 */
export function copyCandidates(
  entries: readonly DirEntry[],
  wanted: WantedCopy,
  skip: (dev: number, ino: number) => boolean,
): DirEntry[] {
  return entries
    .filter(
      (e) =>
        e.isFile &&
        !(e.dev === wanted.dev && e.ino === wanted.ino) &&
        e.size >= wanted.from &&
        e.size >= wanted.fpLength &&
        e.size > 0 &&
        !NOT_A_PLAIN_COPY.test(e.name) &&
        !skip(e.dev, e.ino),
    )
    .sort((a, b) => b.mtimeMs - a.mtimeMs || a.name.localeCompare(b.name));
}

/** Pure: whether a file's first bytes carry the saved fingerprint. */
export function headIs(head: Buffer, wanted: Pick<WantedCopy, "fpHash" | "fpLength">): boolean {
  return head.length >= wanted.fpLength && hashBytes(head.subarray(0, wanted.fpLength)) === wanted.fpHash;
}

/**
 * Lists `dir` with `lstat`: a symlink planted beside the file is not a regular file, so never a
 * candidate. Entries that vanish meanwhile are left out.
 */
export async function listDir(dir: string): Promise<DirEntry[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const out: DirEntry[] = [];
  for (const name of names) {
    const st = await lstat(join(dir, name)).catch(() => undefined);
    if (!st) continue;
    out.push({ name, dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, isFile: st.isFile() });
  }
  return out;
}

/** The rotated copy of the wanted content in `dir`, or undefined when there is none. */
export async function findRotatedCopy(
  dir: string,
  wanted: WantedCopy,
  skip: (dev: number, ino: number) => boolean,
): Promise<FoundCopy | undefined> {
  for (const c of copyCandidates(await listDir(dir), wanted, skip)) {
    const path = join(dir, c.name);
    const head = await readHead(path, wanted.fpLength);
    if (head && headIs(head, wanted)) return { path, dev: c.dev, ino: c.ino, size: c.size };
  }
  return undefined;
}

async function readHead(path: string, length: number): Promise<Buffer | undefined> {
  // Never follows a symlink swapped in since the listing, never blocks on a FIFO; the copy is then
  // read through TrackedFile.reopen, which checks the descriptor fully.
  const fh = await open(path, SAFE_OPEN_FLAGS).catch(() => undefined);
  if (!fh) return undefined;
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await fh.read(buf, 0, length, 0);
    return buf.subarray(0, bytesRead);
  } catch {
    return undefined;
  } finally {
    await fh.close();
  }
}
