// The ASan+UBSan build of our addons (`npm run build:native:sanitize`, which runs
// shim/native/build.mjs and pipeline/native/build.mjs with --sanitize), loaded by the tests that
// exercise their C the most (test/native/sanitize.test.ts) under BOXSCOPE_NATIVE_BUILD=sanitize
// (common/native-addon.ts).
//
// node-gyp builds an addon only into the build/ beside its binding.gyp, so the variant is built from
// a copy of binding.gyp in <addon>/build-sanitize/ whose src/ (and build-deps/) are links to the
// addon's own: it lands in <addon>/build-sanitize/build/Release/, and the ordinary build is left as
// it is. clang compiles it, so that its ASan runtime (asanRuntime) is the one a process preloads to
// load these addons: Node itself is not instrumented. The libraries the addons link (librdkafka,
// libfuse3, OpenSSL) are not instrumented either; our C is.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { nodeGypRebuild } from "./node-headers.mjs";

export const SANITIZE_BUILD_DIR = "build-sanitize";

// -O1 and frame pointers: reports with whole stacks at a speed the tests' timeouts allow.
const flags = "-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1";
const runtimeArch = { x64: "x86_64", arm64: "aarch64" };

/** clang's ASan runtime (a shared library, with UBSan's handlers), or undefined without clang's runtimes. */
export function asanRuntime() {
  const arch = runtimeArch[process.arch];
  if (!arch) return undefined;
  const res = spawnSync("clang", [`-print-file-name=libclang_rt.asan-${arch}.so`], { encoding: "utf8" });
  const path = res.status === 0 ? res.stdout.trim() : "";
  return path.startsWith("/") && existsSync(path) ? path : undefined;
}

/**
 * Builds the addons of `addonDir` (its binding.gyp) with ASan and UBSan into
 * `addonDir`/build-sanitize/build/Release; `linked` names what binding.gyp reads besides src/.
 * Exits the process as nodeGypRebuild does, or 1 with one line when clang's runtimes are missing.
 */
export function sanitizeRebuild(addonDir, linked = []) {
  if (!asanRuntime()) {
    console.error(
      "boxscope native build: clang's sanitizer runtime not found (Debian: apt-get install clang libclang-rt-dev)",
    );
    process.exit(1);
  }
  const mirror = join(addonDir, SANITIZE_BUILD_DIR);
  mkdirSync(mirror, { recursive: true });
  // One level deeper than the original: its paths that leave the addon (the shared headers in
  // common/native) gain one "../".
  const gyp = readFileSync(join(addonDir, "binding.gyp"), "utf8").replaceAll('"../', '"../../');
  writeFileSync(join(mirror, "binding.gyp"), gyp);
  for (const name of ["src", ...linked]) {
    const link = join(mirror, name);
    rmSync(link, { force: true });
    symlinkSync(join("..", name), link);
  }
  nodeGypRebuild(mirror, {
    CC: "clang",
    LINK: "clang",
    CFLAGS: flags,
    LDFLAGS: "-fsanitize=address,undefined",
  });
}
