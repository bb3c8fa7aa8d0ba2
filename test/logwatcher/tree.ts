import { spawn } from "node:child_process";
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { repoRoot } from "../helpers/paths.js";

/** A fresh log root and spool under one temp dir, removed after the test. */
export function makeDirs(t: TestContext): { base: string; root: string; spool: string } {
  const base = mkdtempSync(join(tmpdir(), "boxscope-test-logwatcher-"));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  const root = join(base, "log");
  const spool = join(base, "spool");
  mkdirSync(root);
  return { base, root, spool };
}

/**
 * The test's own idea of what the spool must hold, computed independently of the product: every
 * regular file (lstat, never following a symlink, single hard link) named *.log anywhere below
 * root, reached through real directories only. Returned as relative paths, sorted.
 */
export function expectedFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    let names: string[];
    try {
      names = readdirSync(rel ? join(root, rel) : root);
    } catch {
      return;
    }
    for (const n of names) {
      const r = rel ? `${rel}/${n}` : n;
      let st: ReturnType<typeof lstatSync>;
      try {
        st = lstatSync(join(root, r));
      } catch {
        continue;
      }
      if (st.isDirectory()) walk(r);
      else if (st.isFile() && st.nlink === 1 && n.endsWith(".log")) out.push(r);
    }
  };
  walk("");
  return out.sort();
}

/** What the spool holds: for each entry, the relative path its symlink points to (or a marker). */
export function spoolTargets(spool: string, root: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(spool)) {
    if (name === ".boxscope-tmp") continue; // the spool's own temp directory; readers skip directories
    const p = join(spool, name);
    if (!lstatSync(p).isSymbolicLink()) {
      out.push(`!not-a-link:${name}`);
      continue;
    }
    const target = readlinkSync(p);
    out.push(target.startsWith(`${root}/`) ? target.slice(root.length + 1) : `!outside:${name}->${target}`);
  }
  return out.sort();
}

/** Polls until the spool is exactly the expected set (or `extra` entries besides); returns the last diff. */
export async function waitForSpool(
  root: string,
  spool: string,
  opts: { timeoutMs?: number; ignore?: (name: string) => boolean } = {},
): Promise<{ expected: string[]; actual: string[] }> {
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  for (;;) {
    const expected = expectedFiles(root);
    const actual = spoolTargets(spool, root).filter((e) => !opts.ignore?.(e));
    if (JSON.stringify(expected) === JSON.stringify(actual) || Date.now() > deadline)
      return { expected, actual };
    await sleep(50);
  }
}

/** `node bin/boxscope.js logwatcher ...` as a real child process; stderr kept for diagnosis. */
export function spawnLogwatcher(
  args: string[],
  opts: { wrap?: string[] } = {},
): { child: ReturnType<typeof spawn>; stderr: () => string } {
  const cmd = [
    ...(opts.wrap ?? []),
    process.execPath,
    join(repoRoot, "bin/boxscope.js"),
    "logwatcher",
    ...args,
  ];
  const child = spawn(cmd[0] as string, cmd.slice(1), { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  return { child, stderr: () => err };
}

/** Resolves when the child's stderr shows `msg` (a pino message), or rejects after the timeout. */
export async function waitForLog(stderr: () => string, msg: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!stderr().includes(`"msg":"${msg}"`)) {
    if (Date.now() > deadline) throw new Error(`no "${msg}" in logwatcher output:\n${stderr()}`);
    await sleep(25);
  }
}
