import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { BoxscopeError } from "../common/errors.js";
import { allDashboards } from "./index.js";

/** Writes every dashboard as Grafana JSON into `outDir` (created if missing); returns the paths written. */
export async function buildDashboards(outDir: string): Promise<string[]> {
  const dir = resolve(outDir);
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    throw new BoxscopeError(
      "BXS_DIRECTORY_UNUSABLE",
      `dashboards build: cannot create ${dir}: ${(e as Error).message}`,
    );
  }
  const written: string[] = [];
  for (const { file, dashboard } of allDashboards()) {
    const path = join(dir, file);
    await writeFile(path, `${JSON.stringify(dashboard, null, 2)}\n`);
    written.push(path);
  }
  return written;
}
