/**
 * Network namespaces of container processes and their interface counters (/proc/<pid>/net/dev),
 * read once per namespace per scrape: a Kubernetes pod's containers share one namespace, and so do
 * `--network container:<id>` containers, so the file is read once for all of them.
 */
import { readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { BoxscopeError } from "../../common/errors.js";

/** One interface's counters, from /proc/<pid>/net/dev. */
export interface NetDevCounters {
  readonly receiveBytes: number;
  readonly receivePackets: number;
  readonly receiveDrop: number;
  readonly transmitBytes: number;
  readonly transmitPackets: number;
  readonly transmitDrop: number;
}

/** A namespace's interfaces (loopback left out: its traffic never leaves the namespace). */
export interface NetnsCounters {
  /** The namespace's inode number, as in `readlink /proc/<pid>/ns/net` = `net:[<inode>]`. */
  readonly inode: string;
  readonly devices: ReadonlyMap<string, NetDevCounters>;
}

/**
 * /proc/net/dev: two header lines, then `<iface>: <8 receive columns> <8 transmit columns>`
 * (bytes packets errs drop fifo frame compressed multicast | bytes packets errs drop fifo colls
 * carrier compressed). The name is right-aligned and a wide counter may touch the colon, so the
 * line is split at its last colon (counters have none). Throws on a line it cannot read.
 */
export function parseNetDev(text: string): Map<string, NetDevCounters> {
  const out = new Map<string, NetDevCounters>();
  for (const line of text.split("\n")) {
    const colon = line.lastIndexOf(":");
    // Header lines have `|` and no colon.
    if (colon < 0 || line.includes("|")) continue;
    const name = line.slice(0, colon).trim();
    const cols = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    if (name === "" || cols.length < 16 || cols.some((n) => !Number.isFinite(n))) {
      throw new BoxscopeError(
        "BXS_HOST_FORMAT_UNEXPECTED",
        `unexpected net/dev line: ${JSON.stringify(line)}`,
      );
    }
    out.set(name, {
      receiveBytes: cols[0] as number,
      receivePackets: cols[1] as number,
      receiveDrop: cols[3] as number,
      transmitBytes: cols[8] as number,
      transmitPackets: cols[9] as number,
      transmitDrop: cols[11] as number,
    });
  }
  return out;
}

/** `net:[4026531992]` → `4026531992`; undefined when the process is gone or not ours to inspect. */
export function netnsInode(pid: number | "self", procRoot = "/proc"): string | undefined {
  try {
    return /^net:\[(\d+)\]$/.exec(readlinkSync(join(procRoot, String(pid), "ns", "net")))?.[1];
  } catch {
    return undefined;
  }
}

/**
 * One scrape's reads: the host's namespace once, each other namespace's net/dev once however many
 * containers are in it. Built fresh per scrape (counters must be current). The host's namespace is
 * pid 1's; when pid 1 cannot be inspected (a sandbox whose init is more privileged than root in
 * it) the exporter's own, which is the host's as deployed (host network, `hostNetwork: true`).
 */
export class NetnsScrape {
  private readonly host: string | undefined;
  private readonly byInode = new Map<string, NetnsCounters | undefined>();
  /** net/dev files read this scrape (one per distinct namespace). */
  reads = 0;

  constructor(private readonly procRoot = "/proc") {
    this.host = netnsInode(1, procRoot) ?? netnsInode("self", procRoot);
  }

  /**
   * The counters of `pid`'s namespace; undefined when the process is gone, cannot be inspected,
   * or is in the host's namespace (a `--network host` container: its traffic is the host's).
   */
  countersOf(pid: number): NetnsCounters | undefined {
    const inode = netnsInode(pid, this.procRoot);
    if (inode === undefined || inode === this.host) return undefined;
    if (this.byInode.has(inode)) return this.byInode.get(inode);
    let text: string | undefined;
    try {
      text = readFileSync(join(this.procRoot, String(pid), "net", "dev"), "utf8");
      this.reads++;
    } catch {
      text = undefined; // exited between the readlink and the read: another pid may still answer
    }
    if (text === undefined) return undefined;
    const devices = parseNetDev(text);
    devices.delete("lo");
    const counters: NetnsCounters = { inode, devices };
    this.byInode.set(inode, counters);
    return counters;
  }
}
