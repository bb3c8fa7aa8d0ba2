import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Bind, createRuncLab, lxcfsStyleBinds, type RuncLab } from "../helpers/runc.js";
import { type DaemonUnderTest, startDaemon } from "./fuse-daemon.js";

/**
 * A `boxscope shim mount` daemon and a runc lab in one scratch directory, with LXCFS-style binds of
 * the mount's files for the lab's containers; all of it torn down after the test.
 */
export async function startRuncLabWithMount(
  t: { after(fn: () => Promise<void>): void },
  part: string,
): Promise<{ lab: RuncLab; daemon: DaemonUnderTest; binds: Bind[] }> {
  const dir = mkdtempSync(join(tmpdir(), `boxscope-${part}-`));
  const mnt = join(dir, "mnt");
  let daemon: DaemonUnderTest | undefined;
  const lab = createRuncLab(dir, part);
  t.after(async () => {
    await lab.destroy();
    await daemon?.stop("SIGTERM");
    spawnSync("umount", ["-l", mnt]); // a daemon killed mid-test leaves its mount; no-op otherwise
    rmSync(dir, { recursive: true, force: true });
  });
  daemon = await startDaemon(mnt);
  return { lab, daemon, binds: lxcfsStyleBinds(mnt) };
}
