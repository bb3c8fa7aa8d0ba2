import { readFileSync, statfsSync, statSync } from "node:fs";
import { constants } from "node:os";
import { unescapeMountPath } from "../../cgroup/mounts.js";
import { makeDirs } from "../../common/dirs.js";
import { BoxscopeError, errnoCode } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import type { FuseBinding } from "../native/binding.js";

/** One line of /proc/self/mountinfo that matters here. */
export interface MountEntry {
  mountPoint: string;
  fsType: string;
  /** major:minor of the filesystem: a dead FUSE connection's binds keep the old one. */
  dev: string;
  /** The path inside the filesystem that is mounted (a bind of one file: "/proc/meminfo"). */
  root: string;
}

/** Parses /proc/<pid>/mountinfo (dev, root and mount point are fields 3-5; fs type follows " - "). */
export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(" ");
    const right = line.slice(sep + 3).split(" ");
    const [, , dev, root, mp] = left;
    const type = right[0];
    if (mp === undefined || root === undefined || dev === undefined || type === undefined) continue;
    out.push({ mountPoint: unescapeMountPath(mp), fsType: type, dev, root: unescapeMountPath(root) });
  }
  return out;
}

/** The mounts at `dir` in this process's mount namespace, bottom to top. */
export function mountsAt(dir: string): MountEntry[] {
  return parseMountinfo(readFileSync("/proc/self/mountinfo", "utf8")).filter((m) => m.mountPoint === dir);
}

/**
 * Makes `dir` ready to mount on. A daemon killed earlier (SIGKILL, OOM) leaves its mount behind and
 * every access to it fails with ENOTCONN: detach those (lazily, like `fusermount3 -uz`) instead of
 * failing. A live boxscope mount there means another daemon is running: that is an error, not
 * something to stack on.
 */
export function prepareMountpoint(
  dir: string,
  binding: FuseBinding,
  log: Logger,
): { recovered: number; deadDevs: string[] } {
  let recovered = 0;
  const deadDevs: string[] = [];
  // Each dead daemon that mounted here left one layer; peel them all (bounded). statfs, not stat:
  // the kernel may answer a stat of the mount's root from cached attributes even when the daemon is
  // dead, but always sends STATFS to the daemon.
  for (let i = 0; i < 16; i++) {
    try {
      statfsSync(dir);
      break;
    } catch (e) {
      const code = errnoCode(e);
      if (code === "ENOENT") {
        makeDirs(dir, "mountpoint");
        break;
      }
      if (code !== "ENOTCONN") {
        throw new BoxscopeError(
          "BXS_MOUNTPOINT_UNUSABLE",
          `mountpoint ${dir}: cannot stat (${code ?? String(e)})`,
          { context: { dir } },
        );
      }
      const dead = mountsAt(dir).at(-1);
      if (dead) deadDevs.push(dead.dev);
      const rc = binding.detach(dir);
      if (rc !== 0) {
        throw new BoxscopeError(
          "BXS_MOUNTPOINT_UNUSABLE",
          `mountpoint ${dir}: stale FUSE mount, lazy unmount failed (${errnoName(rc)})`,
          { context: { dir } },
        );
      }
      recovered++;
      log.warn({ mountpoint: dir }, "detached a stale mount left by a dead daemon");
    }
  }
  const top = mountsAt(dir).at(-1);
  if (top?.fsType === "fuse.boxscope") {
    throw new BoxscopeError(
      "BXS_MOUNTPOINT_UNUSABLE",
      `mountpoint ${dir}: a live boxscope mount is already there (is another daemon running?)`,
      { context: { dir } },
    );
  }
  if (!statSync(dir).isDirectory())
    throw new BoxscopeError("BXS_MOUNTPOINT_UNUSABLE", `mountpoint ${dir}: not a directory`, {
      context: { dir },
    });
  return { recovered, deadDevs };
}

export function errnoName(errno: number): string {
  for (const [name, value] of Object.entries(constants.errno)) if (value === errno) return name;
  return `errno ${errno}`;
}
