/** One /dev/kmsg record: "prio,seq,usec,flags[,...];message\n[ KEY=value\n...]". Pure. */
export interface KmsgRecord {
  readonly priority: number;
  readonly seq: number;
  /** Monotonic microseconds since boot when the kernel logged it. */
  readonly usec: number;
  readonly message: string;
}

export function parseKmsgRecord(raw: string): KmsgRecord | undefined {
  const semi = raw.indexOf(";");
  if (semi < 0) return undefined;
  const [prio, seq, usec] = raw.slice(0, semi).split(",");
  const nl = raw.indexOf("\n", semi);
  const message = raw.slice(semi + 1, nl < 0 ? undefined : nl);
  // The kernel escapes non-printables as \xNN; the patterns boxscope matches are plain ASCII.
  return { priority: Number(prio) & 7, seq: Number(seq), usec: Number(usec), message };
}

/** The cgroups named by a kernel OOM-kill line (kernels ≥ 4.19 print one per kill). */
export interface OomKill {
  /** Cgroup of the killed task (memory hierarchy path on v1, unified path on v2). */
  readonly taskMemcg: string;
  /** Cgroup whose limit was hit (may be an ancestor, e.g. the pod), when printed. */
  readonly oomMemcg: string | undefined;
  readonly task: string | undefined;
  readonly pid: number | undefined;
  readonly constraint: string | undefined;
}

export function parseOomKill(message: string): OomKill | undefined {
  const at = message.indexOf("oom-kill:");
  if (at < 0) return undefined;
  const fields = new Map<string, string>();
  // Values never contain commas except nodemask/cpuset lists, which boxscope does not read.
  for (const part of message.slice(at + "oom-kill:".length).split(",")) {
    const eq = part.indexOf("=");
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const taskMemcg = fields.get("task_memcg");
  if (taskMemcg === undefined) return undefined;
  const pid = fields.get("pid");
  return {
    taskMemcg,
    oomMemcg: fields.get("oom_memcg"),
    task: fields.get("task"),
    pid: pid === undefined ? undefined : Number(pid),
    constraint: fields.get("constraint"),
  };
}
