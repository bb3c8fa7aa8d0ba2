import { spawnSync } from "node:child_process";
import type { TestContext } from "node:test";

/**
 * Tests that need root, FUSE, cgroups, runc, Kafka... call this first. On a developer's laptop a
 * missing prerequisite skips the test with one line saying why; with CI=true it fails the test:
 * CI installs everything, so a missing piece there is a broken CI, never a pass.
 * Returns true when the test may go on.
 */
export function requirePrereq(t: TestContext, present: boolean, why: string): boolean {
  if (present) return true;
  if (process.env.CI === "true") throw new Error(`prerequisite missing under CI=true: ${why}`);
  t.skip(why);
  return false;
}

export const isRoot = (): boolean => process.getuid?.() === 0;

/** Is `cmd` on PATH (a prerequisite binary such as promtool, nft, lxcfs)? */
export const hasCommand = (cmd: string): boolean => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
