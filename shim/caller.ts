/**
 * Who reads a view: the facts the answer depends on, taken from the kernel once, when the read
 * arrives. The FUSE binding resolves them per request (shim/native/src/caller_key.c), keys its cache
 * on them and hands them to the renderer, which renders for exactly these facts and never looks the
 * pid up again: by then the pid may belong to another process in another container (a pid is handed
 * on as soon as its process is reaped; clone3's set_tid picks it at will).
 */
import { join } from "node:path";
import { readQuiet } from "../cgroup/fsread.js";
import { readPidNamespace } from "../cgroup/process.js";

export interface CallerIdentity {
  /** Host pid (thread id) of the reader: only a place to start looking for its namespace's init. */
  readonly pid: number;
  /** Its pid namespace (`pid:[4026531836]`); undefined when unknown (then its own cgroup decides). */
  readonly pidNamespace: string | undefined;
  /** Its /proc/<pid>/cgroup text, read with pidNamespace. */
  readonly procCgroup: string;
}

/** The binding's caller key: the namespace link, a newline, then /proc/<pid>/cgroup. */
export function parseCallerKey(pid: number, key: string): CallerIdentity | undefined {
  const nl = key.indexOf("\n");
  if (nl <= 0) return undefined;
  return { pid, pidNamespace: key.slice(0, nl), procCgroup: key.slice(nl + 1) };
}

/** The same facts read now from `procRoot` (`shim render --pid`); undefined if there is no such process. */
export function readCallerIdentity(pid: number, procRoot = "/proc"): CallerIdentity | undefined {
  const pidNamespace = readPidNamespace(pid, procRoot);
  const procCgroup = readQuiet(join(procRoot, String(pid), "cgroup"));
  return procCgroup === undefined ? undefined : { pid, pidNamespace, procCgroup };
}
