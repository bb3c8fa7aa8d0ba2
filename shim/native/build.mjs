#!/usr/bin/env node
// Builds the FUSE binding (run by `npm install` / `npm ci` through the "install" script). Without
// libfuse3's headers (a laptop that does not work on the shim) the build is skipped with one line, and
// `boxscope shim mount` says what is missing; under CI=true a missing libfuse3 is a failure.
// With --sanitize it builds the ASan+UBSan variant instead (scripts/native-sanitize.mjs).
import { spawnSync } from "node:child_process";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { sanitizeRebuild } from "../../scripts/native-sanitize.mjs";
import { nodeGypRebuild } from "../../scripts/node-headers.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const probe = spawnSync("pkg-config", ["--exists", "fuse3"]);
if (probe.error || probe.status !== 0) {
  const why = "libfuse3 development files not found (Debian: apt-get install fuse3 libfuse3-dev pkg-config)";
  if (process.env.CI === "true") {
    console.error(`boxscope native build: ${why}`);
    process.exit(1);
  }
  console.error(`boxscope native build skipped: ${why}; \`boxscope shim mount\` will not work`);
  process.exit(0);
}
if (process.argv.includes("--sanitize")) sanitizeRebuild(here);
else nodeGypRebuild(here);
