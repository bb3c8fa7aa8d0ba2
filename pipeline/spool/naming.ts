import { createHash } from "node:crypto";
import { extname, posix } from "node:path";
import { SOURCE_SPOOL_DIRS } from "../sources.js";

/**
 * Spool link names. Pure: a link name is a function of the file's path relative to the log root
 * (first component = the container directory), so names are stable across restarts and the
 * ownership test ("is this spool entry ours?") is `linkNameFor(rel(target)) === name`.
 *
 * Readable form: components joined with `__` (`c1/app/x.log` → `c1__app__x.log`). It is used only
 * when that flattening is uniquely decodable and fits NAME_MAX; otherwise the hashed form
 * `<readable prefix, cut at a UTF-8 boundary>~<12 hex of sha256(rel)><ext>` is used.
 */

/** Linux NAME_MAX: bytes, not characters. */
export const NAME_MAX_BYTES = 255;
/**
 * The spool subdirectory holding half-made links (symlink there, then rename into the spool). A
 * subdirectory, not dot-named temp links beside the real ones: Flume's TAILDIR would match a temp
 * link with a `spool/.*` filegroup and re-read the file from byte 0 once it is renamed. Readers
 * skip directories. No link name ever starts with this prefix.
 */
export const TEMP_PREFIX = ".boxscope-tmp";
export const SEPARATOR = "__";
const HASH_HEX_CHARS = 12;
/** Extensions longer than this are left inside the cut prefix rather than kept whole. */
const MAX_EXT_BYTES = 16;
/** What a hashed name ends with; a readable name that happens to look like this gets hashed too. */
const HASHED_SUFFIX = /~[0-9a-f]{12}(\.[^./~]*)?$/;

export function utf8Bytes(s: string): number {
  return Buffer.byteLength(s, "utf8");
}

/** Longest prefix of `s` that is at most `maxBytes` UTF-8 bytes and ends on a code point boundary. */
export function truncateUtf8(s: string, maxBytes: number): string {
  if (utf8Bytes(s) <= maxBytes) return s;
  let bytes = 0;
  let out = "";
  for (const ch of s) {
    const n = utf8Bytes(ch);
    if (bytes + n > maxBytes) break;
    bytes += n;
    out += ch;
  }
  return out;
}

export function shortHash(rel: string): string {
  return createHash("sha256").update(rel, "utf8").digest("hex").slice(0, HASH_HEX_CHARS);
}

/**
 * True when joining the components with `__` can be split back unambiguously: no component holds
 * `__`, and no `_` touches a separator (so every run of exactly two underscores is a separator).
 */
export function isFlatteningUnambiguous(components: readonly string[]): boolean {
  return components.every((c, i) => {
    if (c.length === 0 || c.includes(SEPARATOR)) return false;
    if (i > 0 && c.startsWith("_")) return false;
    if (i < components.length - 1 && c.endsWith("_")) return false;
    return true;
  });
}

/** Splits a log-root-relative POSIX path; rejects absolute paths and `.`/`..` components. */
export function relComponents(rel: string): string[] {
  const parts = rel.split("/");
  if (rel.length === 0 || parts.some((p) => p === "" || p === "." || p === "..")) {
    throw new Error(`not a normalized relative path: ${JSON.stringify(rel)}`);
  }
  return parts;
}

export function linkNameFor(rel: string): string {
  const components = relComponents(rel);
  const readable = components.join(SEPARATOR);
  if (
    isFlatteningUnambiguous(components) &&
    utf8Bytes(readable) <= NAME_MAX_BYTES &&
    !HASHED_SUFFIX.test(readable) &&
    !readable.startsWith(TEMP_PREFIX) &&
    // The spool's subdirectories of the other log trees: a file directly in the root named so
    // gets the hashed form.
    !(SOURCE_SPOOL_DIRS as readonly string[]).includes(readable)
  ) {
    return readable;
  }
  return hashedName(rel, readable);
}

function hashedName(rel: string, readable: string): string {
  const base = posix.basename(rel);
  let ext = extname(base);
  if (utf8Bytes(ext) > MAX_EXT_BYTES || ext.includes("~")) ext = "";
  let stem = ext ? readable.slice(0, readable.length - ext.length) : readable;
  // A hashed name must never be mistaken for one of our temp entries.
  if (stem.startsWith(TEMP_PREFIX)) stem = `_${stem.slice(1)}`;
  const suffix = `~${shortHash(rel)}${ext}`;
  return truncateUtf8(stem, NAME_MAX_BYTES - utf8Bytes(suffix)) + suffix;
}

/** The container directory of a log-root-relative path ("" for a file directly in the root). */
export function containerOf(rel: string): string {
  const slash = rel.indexOf("/");
  return slash < 0 ? "" : rel.slice(0, slash);
}
