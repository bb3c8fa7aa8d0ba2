import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ContainerLabeler } from "../common/container-labels.js";
import { silentLogger } from "../common/logger.js";
import { containerOfLogDir, LogDirOwners, logDirOf, NO_CONTAINER } from "./log-owner.js";

test("logDirOf: the first directory below the log root; nothing for files outside it or directly in it", () => {
  assert.equal(logDirOf("/app/log", "/app/log/shop/app/x.log"), "shop");
  assert.equal(logDirOf("/app/log/", "/app/log/shop/x.log"), "shop");
  assert.equal(logDirOf("/app/log", "/app/log/x.log"), undefined);
  assert.equal(logDirOf("/app/log", "/var/log/syslog"), undefined);
  assert.equal(logDirOf("/app/log", "/app/logs/shop/x.log"), undefined);
});

const id1 = `${"a".repeat(12)}${"1".repeat(52)}`;
const id2 = `${"b".repeat(12)}${"2".repeat(52)}`;
const id3 = `${"c".repeat(12)}${"3".repeat(52)}`;
const live = [
  { labels: { container_id: id1, container_name: "shop", team: "payments" } },
  { labels: { container_id: id2, container_name: "app", team: "search" } },
  { labels: { container_id: id3, container_name: "app", team: "ads" } },
];

test("containerOfLogDir: by full id, by 12-hex prefix, by a name only one live container has", () => {
  assert.equal(containerOfLogDir(id1, live)?.team, "payments");
  assert.equal(containerOfLogDir(id2.slice(0, 12), live)?.team, "search");
  assert.equal(containerOfLogDir("shop", live)?.container_id, id1);
  // Kubernetes container names repeat across pods: an ambiguous name owns nothing.
  assert.equal(containerOfLogDir("app", live), undefined);
  assert.equal(containerOfLogDir("gone", live), undefined);
  // Too short to be an id prefix.
  assert.equal(containerOfLogDir("aaaa", live), undefined);
});

test("LogDirOwners: a listed container's labels; else the directory's own name, team from the mapping file; cached 10 s", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "boxscope-exporter-log-owner-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const gone = "d".repeat(64);
  const mappingFile = join(dir, "teams.yaml");
  writeFileSync(mappingFile, `teams:\n  legacy: ads\n  ${gone}: search\n`);
  const labeler = new ContainerLabeler(
    { dockerRoot: join(dir, "docker"), team: { dockerLabel: "team", podLabel: "team", mappingFile } },
    silentLogger(),
  );
  const t0 = Date.now();
  let listed: { labels: { container_id: string; container_name: string; team: string } }[] = [
    live[0] as never,
  ];
  let listings = 0;
  const owners = new LogDirOwners(
    "/app/log",
    () => {
      listings++;
      return listed as never;
    },
    labeler,
  );
  assert.deepEqual(owners.ownerOf("/app/log/shop/a.log", t0), live[0]?.labels);
  assert.deepEqual(owners.ownerOf("/app/log/legacy/x/b.log", t0), {
    container_id: "",
    container_name: "legacy",
    team: "ads",
  });
  assert.deepEqual(owners.ownerOf(`/app/log/${gone}/c.log`, t0), {
    container_id: gone,
    container_name: "",
    team: "search",
  });
  assert.deepEqual(owners.ownerOf("/var/log/syslog", t0), NO_CONTAINER);
  // Within 10 s the lookup is not repeated, however many lines; after it, the listing is asked again.
  const before = listings;
  listed = [];
  for (let i = 0; i < 100; i++) owners.ownerOf("/app/log/shop/a.log", t0 + 9_999);
  assert.equal(listings, before);
  assert.deepEqual(owners.ownerOf("/app/log/shop/a.log", t0 + 10_000), {
    container_id: "",
    container_name: "shop",
    team: "",
  });
  assert.equal(listings, before + 1);
});

test("LogDirOwners: a symlinked log root (the tailer names files by their real path)", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "boxscope-exporter-log-owner-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, "data"));
  symlinkSync(join(dir, "data"), join(dir, "log"));
  const labeler = new ContainerLabeler(
    { dockerRoot: join(dir, "docker"), team: { dockerLabel: "team", podLabel: "team", mappingFile: "" } },
    silentLogger(),
  );
  const owners = new LogDirOwners(join(dir, "log"), () => live as never, labeler);
  assert.deepEqual(owners.ownerOf(join(dir, "data", "shop", "x.log")), live[0]?.labels);
  assert.deepEqual(owners.ownerOf(join(dir, "log", "shop", "x.log")), live[0]?.labels);
});
