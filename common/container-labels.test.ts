import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ContainerLabeler, parseTeamMapping } from "./container-labels.js";
import { silentLogger } from "./logger.js";

test("container name and team: Docker config.v2.json first, then the mapping file (id, prefix, name, pod)", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "boxscope-exporter-labels-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const [withLabel, plain, k8s, unknown] = [0, 1, 2, 3].map(() => randomBytes(32).toString("hex")) as [
    string,
    string,
    string,
    string,
  ];
  const docker = (id: string, doc: object) => {
    mkdirSync(join(dir, "containers", id), { recursive: true });
    writeFileSync(join(dir, "containers", id, "config.v2.json"), JSON.stringify(doc));
  };
  docker(withLabel, { Name: "/web", Config: { Labels: { owner: "payments" } } });
  docker(plain, { Name: "/batch", Config: { Labels: {} } });
  const podUid = "0b7c1e2a-1111-2222-3333-444455556666";
  const mapping = join(dir, "teams.yaml");
  writeFileSync(
    mapping,
    `teams:\n  batch: analytics\n  ${unknown.slice(0, 12)}: infra\npods:\n  ${podUid}:\n    name: checkout-1\n    labels: { squad: checkout }\n`,
  );
  const labeler = new ContainerLabeler(
    { dockerRoot: dir, team: { dockerLabel: "owner", podLabel: "squad", mappingFile: mapping } },
    silentLogger(),
  );
  assert.deepEqual(labeler.labelsFor({ id: withLabel }, withLabel), {
    container_id: withLabel,
    container_name: "web",
    team: "payments",
  });
  assert.equal(labeler.labelsFor({ id: plain }, plain).team, "analytics", "by container name");
  assert.equal(labeler.labelsFor({ id: unknown }, unknown).team, "infra", "by 12-hex prefix");
  assert.deepEqual(labeler.labelsFor({ id: k8s, podUid }, k8s), {
    container_id: k8s,
    container_name: "",
    team: "checkout",
  });
  assert.equal(labeler.labelsFor(undefined, "sshd.service").team, "");
});

test("mapping file: unknown top-level key is an error", () => {
  assert.throws(() => parseTeamMapping("team: {}\n", "/x.yaml"), /unknown key "team"/);
  assert.equal(parseTeamMapping("", "/x.yaml").teams.size, 0);
});
