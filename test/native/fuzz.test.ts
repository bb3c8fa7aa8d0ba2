import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { repoRoot } from "../helpers/paths.js";
import { requirePrereq } from "../helpers/prereq.js";

// Every libFuzzer harness of the C that parses bytes containers write (the fuzz/ folders beside the
// addons' src/), built with ASan and UBSan and run for a bounded time from its committed seeds
// (scripts/native-fuzz.mjs; `npm run fuzz:native -- --seconds N` fuzzes longer). What a run adds to
// the seeds stays in a temporary directory; a finding fails the target with the input's path (kept)
// and the report's first lines.

interface RunResult {
  ok: boolean;
  runs: number;
  seeds: number;
  added: number;
  artifact?: string;
  report?: string;
}
const fuzz = (await import(join(repoRoot, "scripts/native-fuzz.mjs"))) as {
  fuzzTargets: string[];
  fuzzPrereq: () => { present: boolean; why: string };
  buildTargets: (names: string[], outDir: string) => Promise<Map<string, string>>;
  runTarget: (name: string, binary: string, seconds: number, workDir: string) => Promise<RunResult>;
};

const SECONDS = Number(process.env.BOXSCOPE_FUZZ_SECONDS ?? 15);
const prereq = fuzz.fuzzPrereq();
const work = mkdtempSync(join(tmpdir(), "boxscope-fuzz-"));
let binaries = new Map<string, string>();
let findings = 0;
after(() => {
  if (findings === 0) rmSync(work, { recursive: true, force: true });
});

test("the fuzz harnesses build", { timeout: 600_000 }, async (t) => {
  if (!requirePrereq(t, prereq.present, prereq.why)) return;
  const bin = join(work, "bin");
  mkdirSync(bin);
  binaries = await fuzz.buildTargets(fuzz.fuzzTargets, bin);
});

for (const name of fuzz.fuzzTargets) {
  test(`fuzz ${name} for ${SECONDS} s: no sanitizer report, no broken property`, {
    timeout: 600_000,
  }, async (t) => {
    if (!requirePrereq(t, prereq.present, prereq.why)) return;
    const binary = binaries.get(name);
    assert.ok(binary, `the ${name} harness did not build`);
    const r = await fuzz.runTarget(name, binary, SECONDS, join(work, name));
    if (!r.ok) findings++;
    assert.ok(r.ok, `${name}: finding, input kept at ${r.artifact ?? "(none written)"}\n${r.report}`);
    assert.ok(r.seeds > 0, `${name}: no committed seeds were read`);
    assert.ok(r.runs > r.seeds, `${name}: the fuzzer ran no inputs besides the seeds`);
  });
}
