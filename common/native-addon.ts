import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The boxscope checkout this code runs from: the nearest directory above this module with a
 * package.json. The same whether it runs from source, from dist/ (tsc's output) or from the bundle
 * in dist/bundle/ (scripts/bundle.mjs), which is why native addons are found from here and not by
 * a path relative to the module that loads them.
 */
function checkoutRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
  return dir;
}

/**
 * Where node-gyp put the addons: their own build/, or with BOXSCOPE_NATIVE_BUILD=sanitize the
 * ASan+UBSan variant of `npm run build:native:sanitize` (scripts/native-sanitize.mjs), which loads
 * only into a process started with clang's ASan runtime preloaded (test/native/sanitize.test.ts).
 */
function buildDir(): string {
  return process.env.BOXSCOPE_NATIVE_BUILD === "sanitize" ? "build-sanitize/build" : "build";
}

/** Absolute path of the addon `name` built in `addonDir` of the checkout ("shim/native", "boxscope_fuse"). */
export function nativeAddonPath(addonDir: string, name: string): string {
  return join(checkoutRoot(), addonDir, buildDir(), "Release", `${name}.node`);
}

/** Loads the addon at `path` (absolute); throws Node's own error when it is missing or broken. */
export function requireNativeAddon<T>(path: string): T {
  return createRequire(import.meta.url)(path) as T;
}
