import {
  closeSync,
  fsyncSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { dirname } from "node:path";
import { z } from "zod";
import { BoxscopeError, errnoCode } from "../../common/errors.js";

/** What the shipper remembers per file generation (keyed by file id `dev:ino:fingerprint`). */
const entrySchema = z.strictObject({
  dev: z.number(),
  ino: z.number(),
  fpHash: z.string(),
  fpLength: z.number().int().nonnegative(),
  /** First byte not yet acknowledged by Kafka. */
  offset: z.number().int().nonnegative(),
  path: z.string(),
  container: z.string(),
  /** Epoch ms of the last change; entries of files gone for a day are forgotten. */
  seenAt: z.number(),
});
export type PositionEntry = z.infer<typeof entrySchema>;

const fileSchema = z.strictObject({
  version: z.literal(1),
  files: z.record(z.string(), entrySchema),
});

export type Positions = Map<string, PositionEntry>;

export type RecoverMode = "bak" | "start" | "end";

export type LoadResult =
  | { kind: "loaded"; positions: Positions; from: string }
  | { kind: "missing" }
  /** `start`/`end` recovery: no positions at all; the caller applies the mode to each file. */
  | { kind: "recovering"; mode: "start" | "end"; reason: string };

/**
 * Reads the positions file. A corrupt file never silently becomes "no positions" (that would
 * re-ship every file from byte 0): without a recovery mode it is an error naming the file and the
 * ways out.
 */
export function loadPositions(path: string, recover: RecoverMode | undefined): LoadResult {
  const main = tryRead(path);
  if (main.kind === "missing" && recover === undefined) return { kind: "missing" };
  if (main.kind === "ok") return { kind: "loaded", positions: main.positions, from: path };
  const reason = main.kind === "corrupt" ? main.reason : "missing";
  if (recover === "bak") {
    const bak = tryRead(`${path}.bak`);
    if (bak.kind === "ok") return { kind: "loaded", positions: bak.positions, from: `${path}.bak` };
    throw new BoxscopeError(
      "BXS_POSITIONS_CORRUPT",
      `positions file ${path} is ${reason} and its previous generation ${path}.bak is ${bak.kind === "corrupt" ? bak.reason : "missing"}; restart with --positions-recover=end (skip to the end of every file) or =start (re-read everything; Elasticsearch de-duplicates by document id)`,
    );
  }
  if (recover === "start" || recover === "end") return { kind: "recovering", mode: recover, reason };
  throw new BoxscopeError(
    "BXS_POSITIONS_CORRUPT",
    `positions file ${path} is corrupt (${reason}); refusing to guess. Restart with --positions-recover=bak (use ${path}.bak, the previous generation), =end (skip to the end of every file) or =start (re-read everything)`,
  );
}

type ReadResult =
  | { kind: "ok"; positions: Positions }
  | { kind: "missing" }
  | { kind: "corrupt"; reason: string };

function tryRead(path: string): ReadResult {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if (errnoCode(e) === "ENOENT") return { kind: "missing" };
    return { kind: "corrupt", reason: `unreadable: ${errnoCode(e) ?? String(e)}` };
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return { kind: "corrupt", reason: `invalid JSON: ${(e as Error).message}` };
  }
  const parsed = fileSchema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      kind: "corrupt",
      reason: `unexpected content at ${issue?.path.join(".") || "top"}: ${issue?.message}`,
    };
  }
  return { kind: "ok", positions: new Map(Object.entries(parsed.data.files)) };
}

/**
 * Writes the positions atomically and keeps the previous generation as `<path>.bak`:
 * write `<path>.tmp`, fsync, hard-link the current file to `.bak` (via a temp name and rename, so
 * `.bak` is always whole), rename the temp over the current file, fsync the directory.
 * A crash at any point leaves a whole current file (old or new) and a whole `.bak`.
 */
export function savePositions(path: string, positions: Positions): void {
  const tmp = `${path}.tmp`;
  const body = JSON.stringify({ version: 1, files: Object.fromEntries(positions) });
  const fd = openSync(tmp, "w", 0o644);
  try {
    writeSync(fd, body);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    unlinkSync(`${path}.bak.tmp`);
  } catch {
    // absent: nothing to clean up
  }
  try {
    linkSync(path, `${path}.bak.tmp`);
    renameSync(`${path}.bak.tmp`, `${path}.bak`);
  } catch (e) {
    if (errnoCode(e) !== "ENOENT") throw e;
  }
  renameSync(tmp, path);
  const dfd = openSync(dirname(path), "r");
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}
