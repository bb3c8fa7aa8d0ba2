#!/usr/bin/env node
// Developer tool, not part of the test suite: promtool compares annotations exactly, so writing
// every rendered description by hand is error-prone. This runs `promtool test rules` on the given
// files and, for each expected alert that has no exp_annotations yet, copies in the annotations
// promtool rendered for the alert with exactly the same labels at the same alertname and time.
// Review the diff before committing: the values in it ARE the assertions.
//   node alerts/tools/fill-annotations.mjs alerts/tests/containers.test.yml
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { parseDocument } from "yaml";

const pairRe = /(\w+)="((?:[^"\\]|\\.)*)"/g;
const parseSet = (s) =>
  Object.fromEntries([...s.matchAll(pairRe)].map((m) => [m[1], JSON.parse(`"${m[2]}"`)]));
const key = (alertname, time, labels) =>
  `${alertname}@${time}@${JSON.stringify(Object.entries(labels).sort())}`;

for (const file of process.argv.slice(2)) {
  const res = spawnSync("promtool", ["test", "rules", file.split("/").pop()], {
    cwd: dirname(file),
    encoding: "utf8",
  });
  const out = `${res.stdout}${res.stderr}`;
  const got = new Map();
  for (const block of out.split(/\n\s*alertname: /).slice(1)) {
    const head = /^(\w+), time: ([^,]+),/.exec(block);
    if (!head) continue;
    const gotPart = block.split("got:[")[1] ?? "";
    for (const m of gotPart.matchAll(/Labels:\{(.*)\}\n\s*Annotations:\{(.*)\}/g)) {
      const labels = parseSet(m[1]);
      delete labels.alertname;
      const k = key(head[1], head[2], labels);
      const ann = parseSet(m[2]);
      if (got.has(k) && JSON.stringify(got.get(k)) !== JSON.stringify(ann)) console.error(`ambiguous: ${k}`);
      got.set(k, ann);
    }
  }
  const doc = parseDocument(readFileSync(file, "utf8"));
  let filled = 0;
  for (const test of doc.get("tests").items) {
    for (const art of test.get("alert_rule_test")?.items ?? []) {
      const alertname = art.get("alertname");
      const t = String(art.get("eval_time"));
      for (const exp of art.get("exp_alerts")?.items ?? []) {
        if (exp.get("exp_annotations")) continue;
        const labels = exp.get("exp_labels").toJSON();
        const ann = got.get(
          key(alertname, t, Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, String(v)]))),
        );
        if (!ann) {
          console.error(`no rendered alert for ${alertname} at ${t} ${JSON.stringify(labels)}`);
          continue;
        }
        exp.set("exp_annotations", doc.createNode(ann));
        filled++;
      }
    }
  }
  writeFileSync(file, doc.toString({ lineWidth: 0 }));
  console.log(`${file}: filled ${filled}`);
}
