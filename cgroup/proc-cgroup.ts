/** /proc/<pid>/cgroup (cgroups(7)): `hierarchy-ID:controller-list:path`, `0::/path` for cgroup2. */
import { join } from "node:path";
import { readQuiet } from "./fsread.js";
import type { ProcCgroups } from "./types.js";

/**
 * Strips a trailing `/init.scope`: systemd moves a container's (or host's) init there, while the
 * limits and the container's other processes sit on the parent (LXCFS does the same).
 */
export function stripInitScope(path: string): string {
  if (path === "/init.scope") return "/";
  return path.endsWith("/init.scope") ? path.slice(0, -"/init.scope".length) : path;
}

export function parseProcCgroup(text: string): ProcCgroups {
  const v1 = new Map<string, string>();
  let unified: string | undefined;
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const c1 = line.indexOf(":");
    const c2 = c1 < 0 ? -1 : line.indexOf(":", c1 + 1);
    if (c2 < 0) continue;
    const id = line.slice(0, c1);
    const controllers = line.slice(c1 + 1, c2);
    // The path may itself contain ':' (cgroup names are free-form), so it is everything after c2.
    const path = stripInitScope(line.slice(c2 + 1));
    if (id === "0" && controllers === "") {
      unified = path;
      continue;
    }
    for (const ctrl of controllers.split(",")) if (ctrl !== "") v1.set(ctrl, path);
  }
  return { v1, unified };
}

/** Reads /proc/<pid>/cgroup; undefined when the process does not exist (or vanished). */
export function readProcCgroups(pid: number, procRoot = "/proc"): ProcCgroups | undefined {
  const text = readQuiet(join(procRoot, String(pid), "cgroup"));
  return text === undefined ? undefined : parseProcCgroup(text);
}
