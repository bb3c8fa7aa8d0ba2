import assert from "node:assert/strict";
import { lstatSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { Registry } from "prom-client";
import { silentLogger } from "../../common/logger.js";
import { appFileMeta } from "../../pipeline/shipper/file-meta.js";
import { type ReadLimits, TrackedFile } from "../../pipeline/shipper/tracked-file.js";
import { logwatcherConfigSchema } from "../../pipeline/spool/config.js";
import { startLogwatcher } from "../../pipeline/spool/service.js";
import { spoolTargets, waitForSpool } from "../logwatcher/tree.js";
import { makeHostileTree, plantHostile, plantSparse, replaceRapidly } from "./log-tree.js";

/** Every path below `root` whose name ends in .log, whatever it is (lstat only, symlinked dirs not entered). */
function logNames(root: string, rel = ""): string[] {
  const out: string[] = [];
  for (const n of readdirSync(join(root, rel))) {
    const r = rel ? `${rel}/${n}` : n;
    const st = lstatSync(join(root, r));
    if (st.isDirectory()) out.push(...logNames(root, r));
    else if (n.endsWith(".log")) out.push(r);
  }
  return out;
}

test("logwatcher spool and shipper over the hostile log tree: only the real files are linked or opened", {
  timeout: 60_000,
}, async (t) => {
  const tree = makeHostileTree(t);
  const { root } = tree;
  mkdirSync(join(root, "c1"));
  writeFileSync(join(root, "c1", "app.log"), "ERROR real\n");
  plantHostile(tree, "c0");
  const spool = join(tree.base, "spool");
  const config = logwatcherConfigSchema.parse({ dockerLogs: "off", podLogs: "off", logRoot: root, spool });
  const svc = await startLogwatcher(config, { logger: silentLogger(), registry: new Registry() });
  t.after(() => svc.stop());
  plantHostile(tree, "c2");
  plantSparse(tree, "c2/sparse.log");
  const replacing = replaceRapidly(tree, "c3/rotating.log");
  await new Promise((r) => setTimeout(r, 500));
  await replacing.stop();
  const real = ["c1/app.log", "c2/sparse.log", "c3/rotating.log"];
  const { actual } = await waitForSpool(root, spool);
  assert.deepEqual(actual, real, "the spool links exactly the real files");
  assert.deepEqual(spoolTargets(spool, root), real);

  // The shipper as if the logwatcher were not running (or a swap came after its check): every
  // *.log path of the tree, identified the way the spool scan does (stat through the name), is
  // opened only when it is a real file of the tree.
  const limits: ReadLimits = {
    logRoot: root,
    kind: "app",
    format: "plain",
    maxLineBytes: 65536,
    maxRecordBytes: 65536,
    multilineFirstLine: undefined,
    multilineMaxLines: 500,
    readChunkBytes: 65536,
    partialFlushMs: 5000,
  };
  const opened: string[] = [];
  for (const rel of [...logNames(root), "c2/outdir/secret.log", "c0/outdir/secret.log"]) {
    const path = join(root, rel);
    const st = statSync(path); // follows links, as the spool scan's stat of a link does
    const f = new TrackedFile(
      st.dev,
      st.ino,
      path,
      appFileMeta(rel.split("/")[0] as string),
      limits,
      Date.now(),
    );
    if (await f.reopen()) opened.push(rel);
    else assert.notEqual(f.refusal, undefined, rel);
    await f.close();
  }
  assert.deepEqual(opened.sort(), real);
});
