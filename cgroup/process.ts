/**
 * Per-process /proc facts: state and start time (/proc/<pid>/stat), namespace pids (NSpid in
 * /proc/<pid>/status), and the init process of a pid namespace.
 */
import { readlinkSync } from "node:fs";
import { join } from "node:path";
import { readQuiet } from "./fsread.js";

export interface ProcStat {
  /** Field 2, without the parentheses (may contain spaces and parentheses itself). */
  readonly comm: string;
  /** Field 3: R, S, D, Z, T, t, X, I... */
  readonly state: string;
  /** Field 4. */
  readonly ppid: number;
  /** Field 22: start time in clock ticks (USER_HZ) since boot. */
  readonly startTicks: number;
}

/**
 * Parses /proc/<pid>/stat (proc(5)). comm is free text chosen by the process (it may contain
 * spaces and `)`), so fields are counted from the LAST `)`.
 */
export function parseProcStat(text: string): ProcStat | undefined {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return undefined;
  const rest = text.slice(close + 2).split(" ");
  // rest[0] is field 3 (state); field N is rest[N - 3].
  const state = rest[0];
  const ppid = Number(rest[1]);
  const startTicks = Number(rest[19]);
  if (state === undefined || state === "" || !Number.isFinite(ppid) || !Number.isFinite(startTicks))
    return undefined;
  return { comm: text.slice(open + 1, close), state, ppid, startTicks };
}

/** Start time (field 22, ticks since boot) of a process; undefined when it does not exist. */
export function readProcStartTicks(pid: number, procRoot = "/proc"): number | undefined {
  const text = readQuiet(join(procRoot, String(pid), "stat"));
  return text === undefined ? undefined : parseProcStat(text)?.startTicks;
}

/** `NSpid:\t1234\t1` → [1234, 1]: the pid in each nested pid namespace, outermost (the reader's) first. */
export function parseNsPid(statusText: string): number[] {
  const m = /^NSpid:\s*(.*)$/m.exec(statusText);
  if (!m) return [];
  return (m[1] as string)
    .trim()
    .split(/\s+/)
    .filter((s) => s !== "")
    .map(Number);
}

/** `PPid:` from /proc/<pid>/status. */
export function parsePPid(statusText: string): number | undefined {
  const m = /^PPid:\s*(\d+)/m.exec(statusText);
  return m ? Number(m[1]) : undefined;
}

/** The pid namespace of a process (`pid:[4026531836]`), undefined if it vanished or is unreadable. */
export function readPidNamespace(pid: number, procRoot = "/proc"): string | undefined {
  try {
    return readlinkSync(join(procRoot, String(pid), "ns/pid"));
  } catch {
    return undefined;
  }
}

/** Bound on the parent-chain walk (pid namespaces nest at most 32 deep; process trees are shallow). */
const MAX_WALK = 4096;

/**
 * The init (pid 1) of `pid`'s pid namespace, as a host pid, with its start time (for PID-reuse
 * checks by callers that cache the answer).
 *
 * How: NSpid only lists the process's own ids, not its init's, so we walk up the parent chain
 * (PPid) while /proc/<p>/ns/pid stays the same as `pid`'s; the process whose NSpid ends in 1 is the
 * namespace's init. (A namespace's init is the ancestor of every process in it, except processes
 * that joined with setns(2), whose parent is outside: for those the walk leaves the namespace
 * without meeting pid 1 and the answer is undefined; the caller then uses the pid's own cgroup.)
 * This avoids forking into the namespace as LXCFS does, and costs a few readlinks per call.
 *
 * Returns undefined when `pid` is in the host's pid namespace (the same one as <procRoot>/1), when
 * it does not exist, or when no init was found. With `inNamespace`, `pid` must be in that namespace
 * (a caller that knows which namespace it is asking about, while the pid may have been reused).
 */
export function findNamespaceInit(
  pid: number,
  procRoot = "/proc",
  inNamespace?: string,
): { initPid: number; startTicks: number } | undefined {
  const ns = readPidNamespace(pid, procRoot);
  if (ns === undefined || (inNamespace !== undefined && ns !== inNamespace)) return undefined;
  const hostNs = readPidNamespace(1, procRoot);
  if (hostNs !== undefined && ns === hostNs) return undefined;
  let cur = pid;
  for (let i = 0; i < MAX_WALK && cur > 0; i++) {
    const status = readQuiet(join(procRoot, String(cur), "status"));
    if (status === undefined) return undefined;
    if (readPidNamespace(cur, procRoot) !== ns) return undefined;
    const nspid = parseNsPid(status);
    if (nspid[nspid.length - 1] === 1) {
      const startTicks = readProcStartTicks(cur, procRoot);
      // Re-check the namespace after reading the start time: the pid could have been reused meanwhile.
      if (startTicks === undefined || readPidNamespace(cur, procRoot) !== ns) return undefined;
      return { initPid: cur, startTicks };
    }
    const ppid = parsePPid(status);
    if (ppid === undefined || ppid === cur) return undefined;
    cur = ppid;
  }
  return undefined;
}
