#!/usr/bin/env node
// Bundles the compiled CLI (dist/cli/main.js, from tsc) into dist/bundle/, which bin/boxscope.js
// runs. Why: Node pays per ES module it loads (resolving, reading, linking each file), and `boxscope
// ship` loads over a hundred of them (most of them zod's) before its first read: most of a start-up
// that the shipping benchmark counts against kcat. Node 24's compile cache
// (`module.enableCompileCache()`) saves only the compiling, so unbundled it still starts far later
// (docs/benchmarks.md, "Command start-up").
// Code splitting keeps each command's `await import()` lazy: a command loads the chunks of its own
// work, not the other commands'. dist/bundle/meta.json (esbuild's metafile) says which modules each
// chunk holds (test/cli/lazy-load.test.ts reads it).
// Not bundled: what is loaded by a computed path at run time (our own addons, yaml through
// createRequire).
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * zod re-exports all its message locales (`z.locales`, `z.core.locales`: much of the zod chunk,
 * which Node compiles before `ship` can read its config) while using only English, which it
 * imports on its own. Here that namespace holds just `en`, so `ship` and `index` start sooner.
 * boxscope never selects a locale. Should zod move the file, nothing matches and the bundle simply
 * keeps every locale.
 */
const zodEnglishOnly = {
  name: "zod-english-only",
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[/\\]zod[/\\]v4[/\\](classic|core)$/.test(args.resolveDir)
        ? { path: join(args.resolveDir, "../locales/index.js"), namespace: "zod-english-only" }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "zod-english-only" }, (args) => ({
      contents: 'export { default as en } from "./en.js";',
      resolveDir: dirname(args.path),
    }));
  },
};

const outdir = join(root, "dist", "bundle");
rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });

const result = await build({
  absWorkingDir: root,
  entryPoints: { main: "dist/cli/main.js" },
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node24",
  // CommonJS packages in an ES module bundle call require() for Node's built-ins.
  banner: {
    js: "import { createRequire as __boxscopeRequire } from 'node:module'; const require = __boxscopeRequire(import.meta.url);",
  },
  // Less source for Node to read and compile at each start; names stay, for stack traces.
  minifyWhitespace: true,
  minifySyntax: true,
  plugins: [zodEnglishOnly],
  sourcemap: "linked",
  metafile: true,
  logLevel: "warning",
});
writeFileSync(join(outdir, "meta.json"), JSON.stringify(result.metafile));
