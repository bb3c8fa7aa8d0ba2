import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ContainerLabeler } from "../../common/container-labels.js";
import { silentLogger } from "../../common/logger.js";
import { describeFile } from "./file-meta.js";

test("metadata of each tree's files: Docker's name and team label, the pod from the CRI path, the host's", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "boxscope-test-file-meta-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const containers = join(dir, "containers");
  const id = "a".repeat(64);
  mkdirSync(join(containers, id), { recursive: true });
  writeFileSync(
    join(containers, id, "config.v2.json"),
    JSON.stringify({ Name: "/web-1", Config: { Labels: { owner: "payments" } } }),
  );
  const mapping = join(dir, "teams.yaml");
  writeFileSync(mapping, "teams:\n  0c9d7a1e-5b1f-4c1e-9d2a-3f4b5c6d7e8f: search\n");
  const labeler = new ContainerLabeler(
    { dockerRoot: dir, team: { dockerLabel: "owner", podLabel: "team", mappingFile: mapping } },
    silentLogger(),
  );
  const json = (fields: string) => JSON.parse(`{${fields}}`);

  const docker = describeFile("docker", containers, join(containers, id, `${id}-json.log`), "", labeler);
  assert.deepEqual(json(docker.fields), {
    source: "docker",
    container: "web-1",
    containerId: id,
    team: "payments",
  });
  assert.deepEqual([docker.key, docker.rateKey, docker.streamKey], [id, id, id]);

  const uid = "0c9d7a1e-5b1f-4c1e-9d2a-3f4b5c6d7e8f";
  const podPath = `/var/log/pods/shop_cart-7d9f8_${uid}/cart/2.log`;
  const pod = describeFile("pods", "/var/log/pods", podPath, "", labeler);
  assert.deepEqual(json(pod.fields), {
    source: "pods",
    container: "cart",
    pod: "cart-7d9f8",
    namespace: "shop",
    podUid: uid,
    restart: 2,
    team: "search",
  });
  assert.equal(pod.container, "shop/cart-7d9f8/cart");
  assert.equal(pod.streamKey, `${uid}/cart/2`, "one decoder per run of the container");

  const host = describeFile(
    "host",
    "/var/log/boxscope-journal",
    "/var/log/boxscope-journal/journal.log",
    "",
    labeler,
  );
  assert.deepEqual(json(host.fields), { source: "host" });

  const odd = describeFile("docker", containers, join(containers, "not-an-id", "x-json.log"), "", labeler);
  assert.deepEqual(json(odd.fields), { source: "docker", container: "not-an-id" });
  assert.equal(odd.streamKey, join(containers, "not-an-id", "x-json.log"), "a decoder of its own");

  const app = describeFile("app", "/app/log", "/app/log/c1/app.log", "c1__app.log", labeler);
  assert.deepEqual([app.container, app.fields, app.key], ["c1", "", "c1"]);
});
