/** pids controller: pids.current, pids.max (min over ancestors), pids.events `max`. */
import type { WithErrors } from "../common/errors.js";
import {
  type CgroupReadOptions,
  controllerMissing,
  DIRECT_FILES,
  type FileReads,
  parseCount,
  parseFlatKeyed,
  readOptionalIn,
  readRequiredIn,
} from "./fsread.js";
import { ancestorDirs } from "./handle.js";
import { minLimitOver } from "./memory.js";
import type { CgroupHandle, PidsData } from "./types.js";

export function readPids(
  handle: CgroupHandle,
  options: CgroupReadOptions = {},
): WithErrors<PidsData | undefined> {
  const ctl = handle.dirs.pids;
  if (ctl === undefined) return { data: undefined, errors: [controllerMissing("pids")] };
  const reads: FileReads = { files: options.files ?? DIRECT_FILES, errors: [] };
  // The root cgroup has no pids.current on v1 (nor pids.max on either version): not an error there.
  const read = ctl.dir === ctl.root ? readOptionalIn : readRequiredIn;
  const current = parseCount(read(reads, ctl.dir, "pids.current"));
  if (current === undefined) return { data: undefined, errors: reads.errors };
  const max = minLimitOver(reads, ancestorDirs(ctl.dir, ctl.root), "pids.max");
  const events = parseFlatKeyed(readOptionalIn(reads, ctl.dir, "pids.events") ?? "");
  return { data: { current, max, limitHits: events.get("max") }, errors: reads.errors };
}
