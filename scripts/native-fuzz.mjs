#!/usr/bin/env node
// Fuzzes the C that parses bytes containers write: the libFuzzer harnesses in the fuzz/ folder
// beside each addon's src/ (pipeline/native/fuzz, shim/native/fuzz), built with clang,
// AddressSanitizer and UndefinedBehaviorSanitizer, each run for a bounded time from its committed
// seeds (fuzz/corpus/<target>/). test/native/fuzz.test.ts runs every target this way in `npm test`.
//
//   npm run fuzz:native -- [--seconds N] [TARGET...]
//
// N defaults to BOXSCOPE_FUZZ_SECONDS, else 15 s a target. The inputs a run adds to the seeds stay
// in a temporary directory (printed), never in the checkout: copy one worth keeping into the corpus
// by hand. A finding (a sanitizer's report, a broken property, a leak, an input that runs for a
// minute) stops the run with the input's path and the report's first lines, and exit status 1.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const rdkafka = "build-deps/librdkafka";

function pkgConfig(...args) {
  const res = spawnSync("pkg-config", args, { encoding: "utf8" });
  if (res.status !== 0) throw new Error(`pkg-config ${args.join(" ")} failed: ${res.stderr || res.error}`);
  return res.stdout.trim().split(/\s+/).filter(Boolean);
}

/**
 * The targets: each harness (fuzz/<name>.c of its addon directory) with the sources it calls, and
 * what they need from the system. Functions, so that pkg-config runs only for the targets built.
 */
const targetSpecs = {
  documents: () => ({
    dir: "pipeline/native",
    sources: ["fuzz/documents.c", "src/documents.c"],
    libs: pkgConfig("--libs", "libcrypto"),
  }),
  records: () => ({ dir: "pipeline/native", sources: ["fuzz/records.c", "src/records.c"] }),
  // librdkafka's LZ4 glue and the LZ4 library under it, instrumented, from build-deps/librdkafka:
  // the copy of third_party/librdkafka that npm install configured (its config.h) and built the
  // addons' librdkafka in; the rest of librdkafka links from that build. Vendored code: no warnings.
  // -O0: with the sanitizers, lz4.c and lz4hc.c at -O1 would be most of the harnesses' build time,
  // and the fuzzer is not slower for it.
  lz4: () => {
    const built = join(root, "pipeline/native", rdkafka, "src/librdkafka.a");
    if (!existsSync(built)) throw new Error(`${built} missing: run npm run build:native first`);
    return {
      dir: "pipeline/native",
      sources: [
        "fuzz/lz4.c",
        ...["rdkafka_lz4.c", "lz4.c", "lz4frame.c", "lz4hc.c", "rdxxhash.c"].map(
          (f) => `${rdkafka}/src/${f}`,
        ),
      ],
      flags: [
        "-O0",
        "-w",
        `-I${join(root, "pipeline/native", rdkafka)}`,
        `-I${join(root, "pipeline/native", rdkafka, "src")}`,
      ],
      libs: [
        built,
        ...pkgConfig("--libs", "zlib", "libssl", "libcrypto"),
        "-lm",
        "-ldl",
        "-lpthread",
        "-lrt",
      ],
    };
  },
  cpulist: () => ({ dir: "shim/native", sources: ["fuzz/cpulist.c", "src/cpulist.c"] }),
  caller_key: () => ({ dir: "shim/native", sources: ["fuzz/caller_key.c", "src/caller_key.c"] }),
  lookup_name: () => ({
    dir: "shim/native",
    sources: ["fuzz/lookup_name.c", "src/tree.c"],
    flags: ["-DFUSE_USE_VERSION=314", ...pkgConfig("--cflags", "fuse3")],
    libs: pkgConfig("--libs", "fuse3"),
  }),
};

export const fuzzTargets = Object.keys(targetSpecs);

const COMMON_FLAGS = [
  "-g",
  "-O1",
  "-fsanitize=fuzzer,address,undefined",
  "-fno-sanitize-recover=all",
  "-fno-omit-frame-pointer",
  "-std=gnu11",
  "-D_GNU_SOURCE",
  "-Wall",
  "-Wextra",
  "-Wno-unused-parameter",
  `-I${join(root, "scripts")}`,
  `-I${join(root, "common/native")}`,
];

const runtimeArch = { x64: "x86_64", arm64: "aarch64" };

/** clang with libFuzzer and the sanitizers' runtimes, or a line saying what is missing. */
export function fuzzPrereq() {
  const lib = `libclang_rt.fuzzer-${runtimeArch[process.arch] ?? process.arch}.a`;
  const res = spawnSync("clang", [`-print-file-name=${lib}`], { encoding: "utf8" });
  const path = res.status === 0 ? res.stdout.trim() : "";
  if (path.startsWith("/") && existsSync(path)) return { present: true, why: "" };
  return { present: false, why: "clang with libFuzzer (Debian: apt-get install clang libclang-rt-dev)" };
}

/** The committed seeds of `name`. */
export function corpusDir(name) {
  return join(root, targetSpecs[name]().dir, "fuzz", "corpus", name);
}

function run(cmd, args, options) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d) => {
      output += d;
    });
    child.stderr.on("data", (d) => {
      output += d;
    });
    child.on("error", (e) => resolve({ code: -1, output: `${output}${e.message}` }));
    child.on("close", (code, signal) => resolve({ code: code ?? `signal ${signal}`, output }));
  });
}

/** Builds the harness `name` into `outDir`; resolves with its path, or rejects with clang's output. */
export async function buildTarget(name, outDir) {
  const spec = targetSpecs[name]();
  const out = join(outDir, name);
  const args = [
    ...COMMON_FLAGS,
    ...(spec.flags ?? []),
    ...spec.sources.map((s) => join(root, spec.dir, s)),
    "-o",
    out,
    ...(spec.libs ?? []),
  ];
  const { code, output } = await run("clang", args, { cwd: root });
  if (code !== 0) throw new Error(`building the ${name} harness failed (clang exit ${code}):\n${output}`);
  return out;
}

/** Builds the harnesses `names` into `outDir`, as many at once as there are cores; resolves with
 * their paths by name. */
export async function buildTargets(names, outDir) {
  const binaries = new Map();
  const queue = [...names];
  const builder = async () => {
    for (let name = queue.shift(); name; name = queue.shift())
      binaries.set(name, await buildTarget(name, outDir));
  };
  await Promise.all(Array.from({ length: Math.min(availableParallelism(), queue.length) }, builder));
  return binaries;
}

/** The lines of a libFuzzer run's output from the first that says what went wrong (else its end). */
function reportOf(output) {
  const lines = output.split("\n");
  const first = lines.findIndex((l) =>
    /property broken:|runtime error:|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)/.test(l),
  );
  return (first < 0 ? lines.slice(-30) : lines.slice(first, first + 16)).join("\n");
}

const stat = (output, key) =>
  Number(new RegExp(`^stat::${key}:\\s*(\\d+)`, "m").exec(output)?.[1] ?? Number.NaN);

/**
 * Runs the built harness `binary` of `name` for `seconds`, from its seeds, its new inputs and any
 * finding going into `workDir`. Resolves with { ok, runs, seeds, added, artifact?, report? }.
 */
export async function runTarget(name, binary, seconds, workDir) {
  const found = join(workDir, "corpus");
  mkdirSync(found, { recursive: true });
  const args = [
    `-max_total_time=${seconds}`,
    // A hang is a finding; the bound is generous, so that a loaded machine is not one.
    "-timeout=60",
    "-print_final_stats=1",
    `-artifact_prefix=${workDir}/`,
    found,
    corpusDir(name),
  ];
  const { code, output } = await run(binary, args, { cwd: workDir });
  const seeds = Number(/INFO: seed corpus: files: (\d+)/.exec(output)?.[1] ?? 0);
  const result = {
    ok: code === 0,
    runs: stat(output, "number_of_executed_units"),
    seeds,
    added: stat(output, "new_units_added"),
  };
  if (result.ok) return result;
  const artifact = readdirSync(workDir).find((f) => /^(crash|leak|timeout|oom|slow-unit)-/.test(f));
  return {
    ...result,
    artifact: artifact ? join(workDir, artifact) : undefined,
    report: `exit ${code}\n${reportOf(output)}`,
  };
}

function usage(message) {
  console.error(
    `native-fuzz: ${message}\nusage: npm run fuzz:native -- [--seconds N] [${fuzzTargets.join("|")}...]`,
  );
  process.exit(2);
}

async function main(argv) {
  let seconds = Number(process.env.BOXSCOPE_FUZZ_SECONDS ?? 15);
  const names = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--seconds") seconds = Number(argv[++i]);
    else if (fuzzTargets.includes(argv[i])) names.push(argv[i]);
    else usage(`unknown argument ${argv[i]}`);
  }
  if (!Number.isInteger(seconds) || seconds < 1)
    usage("--seconds (or BOXSCOPE_FUZZ_SECONDS) takes a whole number ≥ 1");
  const prereq = fuzzPrereq();
  if (!prereq.present) {
    console.error(`native-fuzz: ${prereq.why}`);
    process.exit(1);
  }
  const chosen = names.length > 0 ? names : fuzzTargets;
  const work = mkdtempSync(join(tmpdir(), "boxscope-fuzz-"));
  const bin = join(work, "bin");
  mkdirSync(bin);
  console.log(`native-fuzz: building ${chosen.join(", ")} (work directory ${work})`);
  const binaries = await buildTargets(chosen, bin);
  let failed = false;
  for (const name of chosen) {
    const r = await runTarget(name, binaries.get(name), seconds, join(work, name));
    if (r.ok) {
      console.log(
        `${name}: ${r.runs} runs in ${seconds} s from ${r.seeds} seeds, ${r.added} new inputs in ${join(work, name, "corpus")}`,
      );
      continue;
    }
    failed = true;
    console.error(`${name}: FINDING, input ${r.artifact ?? "(none written)"}\n${r.report}\n`);
  }
  process.exit(failed ? 1 : 0);
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(`native-fuzz: ${e.message}`);
    process.exit(1);
  });
}
