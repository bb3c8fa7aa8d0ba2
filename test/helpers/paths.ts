import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root, whether running from source or from dist/. */
export const repoRoot: string = (() => {
  const here = dirname(fileURLToPath(import.meta.url));
  const up = resolve(here, "../..");
  return up.endsWith("/dist") ? resolve(up, "..") : up;
})();

export const fixturePath = (...parts: string[]): string => resolve(repoRoot, "test/fixtures", ...parts);
