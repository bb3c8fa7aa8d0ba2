#!/usr/bin/env node
// Builds the log pipeline's native parts: the shipper's producer binding and record encoder and the
// kafkajs LZ4 codec (run by `npm install` / `npm ci` through the "install" script, after
// node-rdkafka has built librdkafka).
// Without that librdkafka (node-rdkafka's build failed or was skipped) the build stops with one
// line naming it: the shipper cannot run without it.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { nodeHeadersDir } from "../../scripts/node-headers.mjs";

const here = dirname(fileURLToPath(import.meta.url));
let lib;
try {
  const pkg = createRequire(import.meta.url).resolve("node-rdkafka/package.json");
  lib = join(dirname(pkg), "build", "deps", "librdkafka.a");
} catch {
  lib = undefined;
}
if (!lib || !existsSync(lib)) {
  console.error(
    `boxscope native build: librdkafka not built by node-rdkafka (${lib ?? "node-rdkafka not installed"}); run npm ci again`,
  );
  process.exit(1);
}
// Against the headers of the Node running this build (node-gyp takes npm_config_nodedir over --nodedir).
let nodedir;
try {
  nodedir = nodeHeadersDir();
} catch (err) {
  console.error(`boxscope native build: ${err.message}`);
  process.exit(1);
}
const env = nodedir === undefined ? process.env : { ...process.env, npm_config_nodedir: nodedir };
const res = spawnSync("node-gyp", ["rebuild", "-C", here], { stdio: "inherit", shell: false, env });
if (res.error) {
  console.error(`boxscope native build: cannot run node-gyp (${res.error.message})`);
  process.exit(1);
}
process.exit(res.status ?? 1);
