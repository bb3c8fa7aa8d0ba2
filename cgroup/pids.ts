/** pids controller: pids.current, pids.max (min over ancestors), pids.events `max`. */
import {
  type CgroupReadOptions,
  DIRECT_FILES,
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
): { data?: PidsData; errors: string[] } {
  const errors: string[] = [];
  const files = options.files ?? DIRECT_FILES;
  const ctl = handle.dirs.pids;
  if (ctl === undefined) return { errors: ["pids: controller not mounted"] };
  // The root cgroup has no pids.current on v1 (nor pids.max on either version): not an error there.
  const read = ctl.dir === ctl.root ? readOptionalIn : readRequiredIn;
  const current = parseCount(read(ctl.dir, "pids.current", errors, files));
  if (current === undefined) return { errors };
  const max = minLimitOver(ancestorDirs(ctl.dir, ctl.root), "pids.max", errors, files);
  const events = parseFlatKeyed(readOptionalIn(ctl.dir, "pids.events", errors, files) ?? "");
  return { data: { current, max, limitHits: events.get("max") }, errors };
}
