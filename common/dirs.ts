import { mkdirSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { BoxscopeError, errnoCode } from "./errors.js";

/**
 * mkdir -p, one level at a time, ending in one clear error. Node's recursive mkdir never returns
 * for some paths (below /proc it spins on ENOENT at full CPU and ignores SIGTERM), and its errors
 * for a path through a regular file are stack traces, not a line an operator can act on.
 * `what` names the setting the directory came from (`ship --positions`, `mountpoint`).
 */
export function makeDirs(dir: string, what: string, mode = 0o755): void {
  const target = resolve(dir);
  let path = "";
  for (const part of target.split("/").filter(Boolean)) {
    path += `/${part}`;
    try {
      mkdirSync(path, mode);
    } catch (e) {
      const code = errnoCode(e);
      if (code !== "EEXIST")
        throw new BoxscopeError(
          "BXS_DIRECTORY_UNUSABLE",
          `${what} ${dir}: cannot create ${path} (${code ?? String(e)})`,
        );
    }
  }
  let isDir: boolean;
  try {
    isDir = statSync(target).isDirectory();
  } catch (e) {
    throw new BoxscopeError(
      "BXS_DIRECTORY_UNUSABLE",
      `${what} ${dir}: cannot stat ${target} (${errnoCode(e) ?? String(e)})`,
    );
  }
  if (!isDir) throw new BoxscopeError("BXS_DIRECTORY_UNUSABLE", `${what} ${dir}: not a directory`);
}
