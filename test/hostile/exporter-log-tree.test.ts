import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync, lstatSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { find, parseSamples, total, value } from "../exporter/helpers.js";
import { repoRoot } from "../helpers/paths.js";
import {
  appendSecrets,
  makeHostileTree,
  openedOutside,
  plantHostile,
  plantSparse,
  replaceRapidly,
  sampleOpenFiles,
} from "./log-tree.js";

/** What the exporter must keep up however hostile the log tree: /healthz answers within 1 s throughout. */
const HEALTHZ_BOUND_MS = 1000;

/** Polls /healthz back to back until stopped; returns every failure (slow, error or not 200). */
function pollHealthz(address: string): { stop(): Promise<{ probes: number; failures: string[] }> } {
  const failures: string[] = [];
  let probes = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      try {
        const res = await fetch(`http://${address}/healthz`, {
          signal: AbortSignal.timeout(HEALTHZ_BOUND_MS),
        });
        await res.text();
        if (res.status !== 200) failures.push(`HTTP ${res.status}`);
      } catch (e) {
        failures.push(`${(e as Error).name} after ${Math.round(performance.now() - t0)} ms`);
      }
      probes++;
      await sleep(50);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { probes, failures };
    },
  };
}

async function addressOf(child: ChildProcess, stderr: () => string): Promise<string> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const m = /"address":"([^"]+)"/.exec(stderr());
    if (m) return m[1] as string;
    if (child.exitCode !== null) throw new Error(`exporter exited ${child.exitCode}: ${stderr()}`);
    if (Date.now() > deadline) throw new Error(`exporter did not start listening within 15 s: ${stderr()}`);
    await sleep(50);
  }
}

test("exporter over a hostile log tree: /healthz within 1 s throughout, no file outside the root opened, matches only from real files", {
  timeout: 90_000,
}, async (t) => {
  const tree = makeHostileTree(t);
  const { root } = tree;
  const app = join(root, "c1", "app.log");
  mkdirSync(join(root, "c1"));
  writeFileSync(app, "ERROR before start (not counted)\n");
  const plantedAtStart = plantHostile(tree, "c0");
  const config = join(tree.base, "boxscope.yaml");
  const glob = `${root}/**/*.log`;
  writeFileSync(
    config,
    [
      "exporter:",
      `  logRoot: ${root}`,
      "  logPollMs: 100",
      "  kmsg: false",
      "  logRules:",
      `    - { name: app_error, glob: "${glob}", regex: "ERROR" }`,
      `    - { name: secret, glob: "${glob}", regex: "SECRET" }`,
      `    - { name: replaced, glob: "${glob}", regex: "REPLACED" }`,
      "",
    ].join("\n"),
  );
  let stderr = "";
  const child = spawn(
    process.execPath,
    [join(repoRoot, "bin/boxscope.js"), "--config", config, "exporter", "--listen", "127.0.0.1:0"],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  t.after(() => child.kill("SIGKILL"));
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const opened = sampleOpenFiles(child.pid as number);
  const address = await addressOf(child, () => stderr);
  const health = pollHealthz(address);
  const scrape = async () => {
    const res = await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(10_000) }).catch(
      (e) => {
        throw new Error(`/metrics did not answer within 10 s (${(e as Error).name})`);
      },
    );
    return parseSamples(await res.text());
  };
  const count = async (rule: string) =>
    total(await scrape(), "boxscope_log_pattern_matches_total", { rule, source: "file" });
  assert.equal(await count("app_error"), 0);

  // After start, everything a new file's backlog can be: planted links (read from their first byte
  // by a follower of new files), a 2 GB sparse file, a file renamed over again and again.
  const planted = [...plantedAtStart, ...plantHostile(tree, "c2")];
  plantSparse(tree, "c2/sparse.log");
  const replacing = replaceRapidly(tree, "c3/rotating.log");
  let errors = 0;
  for (let i = 0; i < 5; i++) {
    appendFileSync(app, `INFO fine ${i}\nERROR real ${i}\n`);
    errors++;
    appendSecrets(tree, "c0");
    appendSecrets(tree, "c2");
    await sleep(400);
  }
  mkdirSync(join(root, "c4"));
  writeFileSync(join(root, "c4", "new.log"), "ERROR new file 1\nERROR new file 2\n");
  errors += 2;
  const replacements = await replacing.stop();

  const deadline = Date.now() + 20_000;
  while ((await count("app_error")) !== errors && Date.now() < deadline) await sleep(100);
  await sleep(500); // a few more polls: nothing else may arrive
  const samples = await scrape();
  const files = (rule: string) =>
    total(samples, "boxscope_log_pattern_matches_total", { rule, source: "file" });
  const { probes, failures } = await health.stop();
  child.kill("SIGTERM");
  const seen = await opened.stop();

  assert.deepEqual(failures, [], `/healthz failed ${failures.length} of ${probes} probes`);
  assert.ok(probes >= 20, `only ${probes} /healthz probes`);
  assert.deepEqual(openedOutside(seen, tree), [], "files outside the log root were opened");
  const realFiles = new Set(
    ["c1/app.log", "c2/sparse.log", "c3/rotating.log", "c4/new.log"].map((r) => join(root, r)),
  );
  // The glob walk opens the tree's directories to list them; any other path of the tree is planted.
  const isDir = (p: string) => lstatSync(p, { throwIfNoEntry: false })?.isDirectory() === true;
  const openedPlanted = [...seen].filter((p) => p.startsWith(`${root}/`) && !realFiles.has(p) && !isDir(p));
  assert.deepEqual(openedPlanted, [], `planted paths were opened (planted: ${planted.join(", ")})`);
  assert.equal(files("secret"), 0, "lines of files outside the root were counted");
  assert.equal(files("app_error"), errors, "ERROR lines: exactly those written to real files");
  // Matches are labelled by container directory, never by file: one series per rule and directory
  // that matched (c1, c4) plus the one without container, whatever the files planted beside them.
  assert.deepEqual(
    find(samples, "boxscope_log_pattern_matches_total", { rule: "app_error", source: "file" })
      .map((x) => `${x.labels.container_name} ${x.value}`)
      .sort(),
    [" 0", "c1 5", "c4 2"],
  );
  const replaced = files("replaced") ?? -1;
  assert.ok(replaced >= 1 && replaced <= replacements, `replaced ${replaced} of ${replacements}`);
  assert.ok(
    (value(samples, "boxscope_log_files_refused_total", { reason: "hardlink" }) ?? 0) >= 2,
    "the hard links were examined and refused",
  );
});
