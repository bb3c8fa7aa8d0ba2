import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { repoRoot } from "../helpers/paths.js";
import { requirePrereq } from "../helpers/prereq.js";
import { LOADED_ADDONS_LINE } from "../helpers/sanitized-addons.js";

// The tests that exercise our C the most, run again against the ASan+UBSan build of the addons
// (`npm run build:native:sanitize`, scripts/native-sanitize.mjs): a memory error or undefined
// behaviour in the addons ends the process that hit it with the sanitizer's report, which fails the
// file here. Each file runs in its own process with clang's ASan runtime preloaded; the processes it
// starts do not inherit it, except the shim daemons and CLI commands, which load the addons too
// (test/helpers/sanitized-addons.ts).

const { asanRuntime } = (await import(join(repoRoot, "scripts/native-sanitize.mjs"))) as {
  asanRuntime: () => string | undefined;
};

/** A compiled test file and the addons its own process must have loaded (sanitized). */
const FILES: { file: string; addons: string[] }[] = [
  { file: "pipeline/indexer/native-bulk.test.js", addons: ["boxscope_documents"] },
  { file: "pipeline/shipper/encode-lines.test.js", addons: ["boxscope_records"] },
  { file: "pipeline/kafka/native-producer.test.js", addons: ["boxscope_rdkafka"] },
  { file: "pipeline/kafka/native-consumer.test.js", addons: ["boxscope_rdkafka"] },
  // A real broker: lz4 batches produced and consumed, the consumer's batches of real messages.
  { file: "test/kafka/rdkafka.test.js", addons: ["boxscope_rdkafka"] },
  { file: "test/shim/fuse-source.test.js", addons: ["boxscope_fuse"] },
  // These mount with `boxscope shim mount` daemons, which load the sanitized addon themselves.
  { file: "test/shim/fuse-mount.test.js", addons: [] },
  { file: "test/shim/fuse-handover.test.js", addons: [] },
  { file: "test/shim/fuse-handover-errors.test.js", addons: [] },
  { file: "test/shim/fuse-fdstore-errors.test.js", addons: ["boxscope_fuse"] },
];

const runtime = asanRuntime();
/** node-gyp, which the build scripts run, is in node_modules/.bin (on PATH under npm only). */
const buildPath = `${join(repoRoot, "node_modules/.bin")}:${process.env.PATH ?? ""}`;
let built = false;

test("the ASan+UBSan addons build", { timeout: 600_000 }, (t) => {
  if (!requirePrereq(t, runtime !== undefined, "clang's ASan runtime (Debian: clang libclang-rt-dev)"))
    return;
  for (const script of ["shim/native/build.mjs", "pipeline/native/build.mjs"]) {
    const res = spawnSync(process.execPath, [join(repoRoot, script), "--sanitize"], {
      cwd: repoRoot,
      env: { ...process.env, PATH: buildPath },
      encoding: "utf8",
      maxBuffer: 64 << 20,
    });
    assert.equal(res.status, 0, `${script} --sanitize failed:\n${res.stdout}${res.stderr}`.slice(-4000));
  }
  built = true;
});

/** Runs `file` (under dist/) in a process with the sanitizer; resolves with its exit and output. */
function runSanitized(file: string, reports: string): Promise<{ code: number | null; output: string }> {
  // Set by the test runner for the files it runs: the file would report to it, not print.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const child = spawn(
    process.execPath,
    ["--import", join(repoRoot, "dist/test/helpers/sanitize-preload.js"), join(repoRoot, "dist", file)],
    {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...env,
        LD_PRELOAD: runtime,
        BOXSCOPE_NATIVE_BUILD: "sanitize",
        // Node's own allocations live until exit by design: no leak report. Reports go to files
        // (one per process that hit one), so that a daemon's is seen too.
        ASAN_OPTIONS: `detect_leaks=0:log_path=${join(reports, "report")}`,
        UBSAN_OPTIONS: `print_stacktrace=1:log_path=${join(reports, "report")}`,
      },
    },
  );
  let output = "";
  child.stdout.on("data", (d: Buffer) => {
    output += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    output += d.toString();
  });
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, output })));
}

for (const { file, addons } of FILES) {
  test(`under ASan+UBSan: ${file}`, { timeout: 900_000 }, async (t) => {
    if (!requirePrereq(t, runtime !== undefined, "clang's ASan runtime (Debian: clang libclang-rt-dev)"))
      return;
    assert.ok(built, "the sanitized addons did not build");
    const reports = mkdtempSync(join(tmpdir(), "boxscope-sanitize-"));
    t.after(() => rmSync(reports, { recursive: true, force: true }));
    const { code, output } = await runSanitized(file, reports);
    const found = readdirSync(reports).map(
      (name) => `${name}:\n${readFileSync(join(reports, name), "utf8").split("\n").slice(0, 30).join("\n")}`,
    );
    assert.deepEqual(found, [], `the sanitizer reported:\n${found.join("\n\n")}`);
    assert.equal(code, 0, `${file} failed under the sanitized addons:\n${output.slice(-6000)}`);
    const loaded = output.split("\n").find((line) => line.startsWith(LOADED_ADDONS_LINE)) ?? "";
    for (const name of addons)
      assert.match(loaded, new RegExp(`/build-sanitize/build/Release/${name}\\.node`));
    assert.doesNotMatch(loaded, /\/native\/build\/Release\//, "an addon of the ordinary build was loaded");
  });
}
