/**
 * Which cgroup a reader is served from. A reader in a container's pid namespace is served its
 * namespace's init's cgroup (a process that joined with setns, or a reader in a sub-cgroup, sees
 * the container's numbers); a reader in the host's namespace, or whose namespace's init is not
 * found, its own cgroup as its identity says.
 */
import { join } from "node:path";
import { readQuiet } from "../../cgroup/fsread.js";
import { resolveHandle } from "../../cgroup/handle.js";
import { parseProcCgroup } from "../../cgroup/proc-cgroup.js";
import { findNamespaceInit, readPidNamespace, readProcStartTicks } from "../../cgroup/process.js";
import type { CgroupHandle, CgroupMounts } from "../../cgroup/types.js";
import type { CallerIdentity } from "../caller.js";
import type { StartProcess } from "./container-state.js";

/** A container pid namespace's init (pid 1 inside it), as a host pid and its start time. */
export type NamespaceInit = StartProcess;

/** What a reader is served from. */
export interface Resolved {
  readonly cgroupPath: string;
  readonly handle: CgroupHandle;
  /** The pid namespace's init when the reader is not in the host's namespace. */
  readonly init: NamespaceInit | undefined;
}

/** Bound on the remembered namespace inits (bounded memory under container churn). */
const MAX_NAMESPACES = 65536;
/** Bound on the remembered cgroup memberships (each up to a few KB; cheap to resolve again). */
const MAX_HANDLES = 4096;

export class CallerResolver {
  /** Container pid namespace (`pid:[inode]`) → its init. */
  private readonly namespaces = new Map<string, NamespaceInit>();
  /** /proc/<pid>/cgroup text → its cgroups on disk (a pure function of the text and the mounts). */
  private readonly handles = new Map<string, CgroupHandle>();
  private hostNamespace: string | undefined;

  constructor(
    private readonly procRoot: string,
    private readonly mounts: CgroupMounts,
  ) {}

  /**
   * What `caller` is served from: its container namespace's init's cgroup, else (host namespace, a
   * process that joined with setns, a caller already gone) its own cgroup as its identity says.
   */
  resolve(caller: CallerIdentity): Resolved {
    const ns = caller.pidNamespace;
    const container = ns === undefined || this.isHostNamespace(ns) ? undefined : this.namespaceOf(caller, ns);
    if (container !== undefined) return container;
    const handle = this.handleOf(caller.procCgroup);
    return { cgroupPath: handle.path, handle, init: undefined };
  }

  private handleOf(procCgroup: string): CgroupHandle {
    let handle = this.handles.get(procCgroup);
    if (handle === undefined) {
      handle = resolveHandle(this.mounts, parseProcCgroup(procCgroup));
      if (this.handles.size >= MAX_HANDLES) this.handles.clear();
      this.handles.set(procCgroup, handle);
    }
    return handle;
  }

  private isHostNamespace(ns: string): boolean {
    this.hostNamespace ??= readPidNamespace(1, this.procRoot);
    return ns === this.hostNamespace;
  }

  /** What a reader in the container namespace `ns` is served: its init's cgroup; undefined if not found. */
  private namespaceOf(caller: CallerIdentity, ns: string): Resolved | undefined {
    const known = this.namespaces.get(ns);
    const served = known === undefined ? undefined : this.initServed(known, ns);
    if (served !== undefined) return served;
    // Looked for from the caller's pid, but only inside the caller's namespace: should the pid be
    // another process's by now, in another namespace, nothing is found.
    const found = findNamespaceInit(caller.pid, this.procRoot, ns);
    if (found === undefined) return undefined;
    const init = { pid: found.initPid, startTicks: found.startTicks };
    if (this.namespaces.size >= MAX_NAMESPACES) this.namespaces.clear();
    this.namespaces.set(ns, init);
    return this.initServed(init, ns);
  }

  /**
   * A namespace's init with its cgroups as they are now: read first, then checked that it is still
   * the init in `ns`, so the cgroups are the init's whatever happened to its pid.
   */
  private initServed(init: NamespaceInit, ns: string): Resolved | undefined {
    const initCgroups = readQuiet(join(this.procRoot, String(init.pid), "cgroup"));
    if (initCgroups === undefined || !this.initRunsIn(init, ns)) return undefined;
    const handle = this.handleOf(initCgroups);
    return { cgroupPath: handle.path, handle, init };
  }

  /** The init still runs, in that namespace: its pid and start time were not handed on. */
  private initRunsIn(init: NamespaceInit, ns: string): boolean {
    return (
      readProcStartTicks(init.pid, this.procRoot) === init.startTicks &&
      readPidNamespace(init.pid, this.procRoot) === ns
    );
  }
}
