import { randomBytes } from "node:crypto";
import {
  lstatSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  renameSync,
  symlinkSync,
  unlinkSync,
} from "node:fs";
import { join } from "node:path";
import { errnoCode } from "../../common/errors.js";
import { linkNameFor, TEMP_PREFIX } from "./naming.js";

/**
 * The spool directory's entries, as seen by the logwatcher. Ownership rule (no manifest, no
 * xattr, so it survives a crash at any moment and needs no extra state): an entry is ours when it
 * is a symlink whose target is an absolute path inside the log root and whose name is exactly the
 * name the scheme gives that target (`linkNameFor(rel)`), plus the `.boxscope-tmp/` subdirectory
 * and the symlinks into the log root inside it (our half-made links). Everything else is foreign
 * and never touched.
 *
 * Synchronous: called in small batches by the event queue and the reconcile pass (see
 * eligibility.ts for why a promise per system call is too dear in a storm).
 */
export type SpoolEntry =
  | { kind: "absent" }
  | { kind: "owned"; rel: string }
  | { kind: "foreign"; what: string };

export const tempDir = (spool: string): string => join(spool, TEMP_PREFIX);

export function ensureTempDir(spool: string): void {
  mkdirSync(tempDir(spool), { recursive: true, mode: 0o755 });
}

export function relInsideRoot(root: string, target: string): string | undefined {
  const prefix = root.endsWith("/") ? root : `${root}/`;
  if (!target.startsWith(prefix)) return undefined;
  const rel = target.slice(prefix.length);
  if (rel.length === 0 || rel.split("/").some((p) => p === "" || p === "." || p === "..")) return undefined;
  return rel;
}

export function inspectEntry(spool: string, root: string, name: string): SpoolEntry {
  const path = join(spool, name);
  let isLink: boolean;
  try {
    isLink = lstatSync(path).isSymbolicLink();
  } catch (e) {
    if (errnoCode(e) === "ENOENT") return { kind: "absent" };
    throw e;
  }
  if (!isLink)
    return { kind: "foreign", what: name === TEMP_PREFIX ? "our temp directory" : "not a symlink" };
  let target: string;
  try {
    target = readlinkSync(path);
  } catch (e) {
    if (errnoCode(e) === "ENOENT") return { kind: "absent" };
    throw e;
  }
  const rel = relInsideRoot(root, target);
  if (rel === undefined) return { kind: "foreign", what: `symlink to ${target}` };
  if (linkNameFor(rel) !== name)
    return { kind: "foreign", what: `name does not follow the scheme for ${rel}` };
  return { kind: "owned", rel };
}

export function listSpool(spool: string): string[] {
  return readdirSync(spool);
}

/** symlink(2) straight to the final name: false (nothing done) when any entry has that name. */
export function createLinkIfAbsent(spool: string, name: string, target: string): boolean {
  try {
    symlinkSync(target, join(spool, name));
    return true;
  } catch (e) {
    if (errnoCode(e) === "EEXIST") return false;
    throw e;
  }
}

/**
 * Replaces (or creates) `name` → `target` atomically: symlink under a temp name, let the caller re-check the
 * source (`beforeRename` returns false to abort), then rename over. A crash leaves either nothing,
 * a temp entry (removed by the next reconcile), or the finished link; never a half-written name.
 */
export function createLinkAtomically(
  spool: string,
  name: string,
  target: string,
  beforeRename: () => boolean,
): boolean {
  const temp = join(tempDir(spool), `${process.pid}-${randomBytes(6).toString("hex")}`);
  try {
    symlinkSync(target, temp);
  } catch (e) {
    if (errnoCode(e) !== "ENOENT") throw e;
    ensureTempDir(spool); // someone removed it; make it again
    symlinkSync(target, temp);
  }
  try {
    if (!beforeRename()) {
      unlinkQuiet(temp);
      return false;
    }
    renameSync(temp, join(spool, name));
    return true;
  } catch (e) {
    unlinkQuiet(temp);
    throw e;
  }
}

/** Removes a spool entry; false when it was already gone. */
export function unlinkQuiet(path: string): boolean {
  try {
    unlinkSync(path);
    return true;
  } catch (e) {
    if (errnoCode(e) === "ENOENT") return false;
    throw e;
  }
}

/**
 * Removes half-made links left in the temp directory by a crash (any process but this one: this
 * process's own are in flight). Only symlinks into the log root are removed. Returns how many.
 */
export function removeStaleTemps(spool: string, root: string): number {
  let names: string[];
  try {
    names = readdirSync(tempDir(spool));
  } catch (e) {
    if (errnoCode(e) === "ENOENT") return 0;
    throw e;
  }
  let removed = 0;
  for (const name of names) {
    if (name.startsWith(`${process.pid}-`)) continue;
    const path = join(tempDir(spool), name);
    let target: string | undefined;
    try {
      target = readlinkSync(path);
    } catch {
      target = undefined;
    }
    if (target !== undefined && relInsideRoot(root, target) !== undefined && unlinkQuiet(path)) removed++;
  }
  return removed;
}
