#!/usr/bin/env node
// Builds the log pipeline's native parts (run by `npm install` / `npm ci` through the "install"
// script): first librdkafka from the release vendored in third_party/librdkafka (a static library,
// configured for what the pipeline uses), then the addons that link it.
//
// librdkafka is built in a copy under build-deps/, never in third_party itself, and only when the
// vendored release or the configure flags changed (a stamp records both): `npm ci` on a checkout
// that built it once does not compile it again. Any failure stops the build with one line naming
// the step and where its log is. With --sanitize the addons are built as the ASan+UBSan variant
// instead (scripts/native-sanitize.mjs), over the same librdkafka.
import { spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { sanitizeRebuild } from "../../scripts/native-sanitize.mjs";
import { nodeGypRebuild } from "../../scripts/node-headers.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const vendored = join(here, "..", "..", "third_party", "librdkafka");
const deps = join(here, "build-deps");
const out = join(deps, "librdkafka");
const stampPath = join(out, "boxscope-build.json");

// What the pipeline needs: plain TCP or TLS to brokers (OpenSSL), gzip (zlib) and the bundled
// LZ4; not GSSAPI, libcurl (OAuth/OIDC token fetching) or zstd, whose development packages a host
// would otherwise need. Debug symbols are left out: the archive stays a fifth of the size and
// backtraces still name functions.
const configureFlags = [
  "--no-download",
  "--disable-gssapi",
  "--disable-curl",
  "--disable-zstd",
  "--disable-lz4-ext",
  "--disable-syslog",
  "--disable-debug-symbols",
];

function fail(step, detail) {
  console.error(`boxscope native build: ${step} failed (${detail})`);
  process.exit(1);
}

/** Runs `cmd`, its output into `log` (kept for whoever reads the failure line). */
function run(step, cmd, args, cwd, log) {
  const fd = openSync(log, "a");
  const res = spawnSync(cmd, args, { cwd, stdio: ["ignore", fd, fd] });
  if (res.error) fail(step, `cannot run ${cmd}: ${res.error.message}`);
  if (res.status !== 0) fail(step, `exit ${res.status}; see ${log}`);
}

function vendoredVersion() {
  const header = readFileSync(join(vendored, "src", "rdkafka.h"), "utf8");
  const m = /#define RD_KAFKA_VERSION\s+(0x[0-9a-fA-F]+)/.exec(header);
  if (!m) fail("reading third_party/librdkafka", "no RD_KAFKA_VERSION in src/rdkafka.h");
  return m[1];
}

function buildLibrdkafka() {
  const stamp = JSON.stringify({ version: vendoredVersion(), configureFlags });
  const built = existsSync(join(out, "src", "librdkafka.a")) && existsSync(stampPath);
  if (built && readFileSync(stampPath, "utf8") === stamp) return;
  const work = `${out}.tmp`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(deps, { recursive: true });
  cpSync(vendored, work, { recursive: true });
  const log = join(deps, "librdkafka-build.log");
  writeFileSync(log, "");
  console.error("boxscope native build: compiling librdkafka (third_party/librdkafka), once per release");
  run(
    "librdkafka configure (Debian: apt-get install build-essential python3 libssl-dev zlib1g-dev)",
    "./configure",
    configureFlags,
    work,
    log,
  );
  run("librdkafka make", "make", [`-j${availableParallelism()}`, "-C", "src", "librdkafka.a"], work, log);
  // The public header alone, where `#include <librdkafka/rdkafka.h>` finds it: src/ also holds
  // private headers whose names could shadow the system's.
  mkdirSync(join(work, "include", "librdkafka"), { recursive: true });
  cpSync(join(work, "src", "rdkafka.h"), join(work, "include", "librdkafka", "rdkafka.h"));
  writeFileSync(join(work, "boxscope-build.json"), stamp);
  rmSync(out, { recursive: true, force: true });
  renameSync(work, out);
}

buildLibrdkafka();
if (process.argv.includes("--sanitize")) sanitizeRebuild(here, ["build-deps"]);
else nodeGypRebuild(here);
