import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  appendFileSync,
  copyFileSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { Registry } from "prom-client";
import { silentLogger } from "../../common/logger.js";
import { type LogwatcherConfig, logwatcherConfigSchema } from "../../pipeline/spool/config.js";
import { NAME_MAX_BYTES } from "../../pipeline/spool/naming.js";
import { startLogwatcher } from "../../pipeline/spool/service.js";
import { waitFor } from "../helpers/wait.js";
import { expectedFiles, makeDirs, spoolTargets, waitForSpool } from "./tree.js";

const TIMEOUT = { timeout: 60_000 };

async function start(t: TestContext, extra: Partial<LogwatcherConfig> = {}) {
  const dirs = makeDirs(t);
  const registry = new Registry();
  const config = logwatcherConfigSchema.parse({
    dockerLogs: "off",
    podLogs: "off",
    logRoot: dirs.root,
    spool: dirs.spool,
    ...extra,
  });
  const begin = async () => {
    const svc = await startLogwatcher(config, { logger: silentLogger(), registry });
    t.after(() => svc.stop());
    return svc;
  };
  return { ...dirs, registry, config, begin };
}

async function converge(root: string, spool: string, what: string): Promise<void> {
  const { expected, actual } = await waitForSpool(root, spool);
  assert.deepEqual(actual, expected, `spool is not the set of log files after: ${what}`);
}

async function metric(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const m = await registry.getSingleMetric(name)?.get();
  const v = m?.values.find((x) => Object.entries(labels).every(([k, l]) => x.labels[k] === l));
  return v?.value ?? 0;
}

const linkNames = (spool: string): string[] => readdirSync(spool).filter((n) => n !== ".boxscope-tmp");

const write = (path: string, text = "line\n"): void => {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, text);
};

test("containers appearing and vanishing, files at depth 1 and depth 12, after start", TIMEOUT, async (t) => {
  const { root, spool, registry, begin } = await start(t);
  write(join(root, "before/x.log"));
  await begin();
  await converge(root, spool, "start with one container");
  const deep = Array.from({ length: 11 }, (_, i) => `d${i + 1}`).join("/");
  write(join(root, "c1/app.log"));
  write(join(root, "c2", deep, "deep.log")); // depth 12 below the container directory
  write(join(root, "c2/notes.txt"));
  write(join(root, "c2/old.log.gz"));
  await converge(root, spool, "new containers, depth 1 and 12");
  assert.ok(spoolTargets(spool, root).includes(`c2/${deep}/deep.log`));
  rmSync(join(root, "c1"), { recursive: true });
  await converge(root, spool, "container c1 vanished");
  rmSync(join(root, "c2", deep, "deep.log"));
  await converge(root, spool, "deep file deleted");
  renameSync(join(root, "before/x.log"), join(root, "before/x.txt"));
  await converge(root, spool, "file renamed out of the include patterns");
  assert.deepEqual(expectedFiles(root), []);
  assert.equal(await metric(registry, "boxscope_logwatcher_links"), 0);
  assert.equal(await metric(registry, "boxscope_logwatcher_link_events_total", { op: "link" }), 3);
  assert.equal(await metric(registry, "boxscope_logwatcher_link_events_total", { op: "unlink" }), 3);
  const text = await registry.getSingleMetricAsString("boxscope_logwatcher_link_latency_seconds");
  const count = Number(/boxscope_logwatcher_link_latency_seconds_count (\d+)/.exec(text)?.[1] ?? 0);
  assert.equal(count, 2, "one observation per link made from a watch event");
});

test("rename rotation: the new x.log is linked, x.log.1 leaves the spool", TIMEOUT, async (t) => {
  const { root, spool, begin } = await start(t);
  write(join(root, "c1/app/x.log"), "old\n");
  await begin();
  await converge(root, spool, "start");
  for (let i = 1; i <= 3; i++) {
    renameSync(join(root, "c1/app/x.log"), join(root, `c1/app/x.log.${i}`));
    write(join(root, "c1/app/x.log"), `generation ${i}\n`);
    await converge(root, spool, `rotation ${i}`);
    const link = join(spool, "c1__app__x.log");
    assert.equal(statSync(link).ino, statSync(join(root, "c1/app/x.log")).ino, "link reaches the new file");
  }
  // A rotation scheme whose rotated name still matches the include gets its own link.
  renameSync(join(root, "c1/app/x.log"), join(root, "c1/app/x-1.log"));
  write(join(root, "c1/app/x.log"));
  await converge(root, spool, "rotation to a name that still matches");
});

test("copytruncate keeps the one link on the same file", TIMEOUT, async (t) => {
  const { root, spool, begin } = await start(t);
  write(join(root, "c1/x.log"), "a\nb\n");
  await begin();
  await converge(root, spool, "start");
  const before = readlinkSync(join(spool, "c1__x.log"));
  copyFileSync(join(root, "c1/x.log"), join(root, "c1/x.log.1"));
  truncateSync(join(root, "c1/x.log"), 0);
  appendFileSync(join(root, "c1/x.log"), "c\n");
  await converge(root, spool, "copytruncate");
  assert.equal(readlinkSync(join(spool, "c1__x.log")), before);
});

test("a container directory removed with 100 files in it", TIMEOUT, async (t) => {
  const { root, spool, registry, begin } = await start(t);
  await begin();
  for (let i = 0; i < 100; i++) write(join(root, "big", `s${i % 7}`, `f${i}.log`));
  write(join(root, "keep/k.log"));
  await converge(root, spool, "101 files created");
  assert.equal(linkNames(spool).length, 101);
  rmSync(join(root, "big"), { recursive: true });
  await converge(root, spool, "container removed");
  assert.equal(await metric(registry, "boxscope_logwatcher_links"), 1);
});

test(
  "names that would collide, longer than 255 bytes, unicode: unique links within NAME_MAX",
  TIMEOUT,
  async (t) => {
    const { root, spool, begin } = await start(t);
    const paths = [
      "a__b/c.log",
      "a/b__c.log",
      "a/b/c.log",
      "a_/b.log",
      "a/_b.log",
      "a___b/x.log",
      "c1/x~0123456789ab.log",
      `${"c".repeat(200)}/${"f".repeat(200)}.log`,
      `${"c".repeat(200)}/${"f".repeat(199)}g.log`,
      `容器/${"日志".repeat(40)}/${"é".repeat(120)}.log`,
      "容器/错误.log",
      "émoji😀/ok.log",
    ];
    for (const p of paths.slice(0, 6)) write(join(root, p));
    await begin();
    for (const p of paths.slice(6)) write(join(root, p));
    await converge(root, spool, "colliding, long and unicode names");
    const names = linkNames(spool);
    assert.equal(names.length, paths.length);
    for (const n of names) assert.ok(Buffer.byteLength(n) <= NAME_MAX_BYTES, `${n} over NAME_MAX`);
    assert.ok(names.includes("容器__错误.log"));
    assert.ok(names.includes("a__b__c.log"));
  },
);

test(
  "hostile tree: planted symlinks, FIFO, socket, hard links, symlinked dirs never reach the spool",
  TIMEOUT,
  async (t) => {
    const { base, root, spool, registry, begin } = await start(t);
    const outside = join(base, "outside");
    write(join(outside, "secret.log"), "host secret\n");
    write(join(root, "c1/ok.log"));
    symlinkSync("/etc/shadow", join(root, "c1/shadow.log"));
    symlinkSync(join(outside, "secret.log"), join(root, "c1/secret.log"));
    symlinkSync("ok.log", join(root, "c1/relative.log")); // even a link inside the root is not a file
    symlinkSync(outside, join(root, "c1/outdir")); // symlinked directory out of the root
    linkSync(join(outside, "secret.log"), join(root, "c1/hard.log")); // a regular file with nlink 2
    execFileSync("mkfifo", [join(root, "c1/fifo.log")]);
    await begin();
    // the same plants after start, in a new container
    mkdirSync(join(root, "c2"));
    symlinkSync("/etc/shadow", join(root, "c2/shadow.log"));
    symlinkSync("/etc", join(root, "c2/etc"));
    execFileSync("mkfifo", [join(root, "c2/fifo.log")]);
    linkSync(join(outside, "secret.log"), join(root, "c2/hard.log"));
    const sock = createServer().listen(join(root, "c2/sock.log"));
    t.after(() => sock.close());
    write(join(root, "c2/fine.log"));
    await converge(root, spool, "hostile plants");
    assert.deepEqual(spoolTargets(spool, root), ["c1/ok.log", "c2/fine.log"]);
    // A linked file swapped for a symlink to /etc/shadow loses its link.
    rmSync(join(root, "c2/fine.log"));
    symlinkSync("/etc/shadow", join(root, "c2/fine.log"));
    await converge(root, spool, "linked file replaced by a symlink");
    // A directory swapped for a symlink: its files are gone from the spool.
    renameSync(join(root, "c1"), join(base, "c1-moved"));
    symlinkSync(join(base, "c1-moved"), join(root, "c1"));
    await converge(root, spool, "container dir replaced by a symlink");
    assert.deepEqual(spoolTargets(spool, root), []);
    // The moved directory was watched as c1: a file written in it now is reached through the
    // symlink c1 only, and must not be linked as c1/late.log.
    write(join(base, "c1-moved/late.log"));
    write(join(root, "c3/after.log"));
    await converge(root, spool, "file written in the directory moved out behind a symlink");
    assert.deepEqual(spoolTargets(spool, root), ["c3/after.log"]);
    for (const r of ["refused_symlink", "refused_not_regular", "refused_hardlink"]) {
      assert.ok((await metric(registry, "boxscope_logwatcher_errors_total", { reason: r })) > 0, r);
    }
  },
);

test(
  "a container directory renamed and made again under its old name: both trees linked",
  TIMEOUT,
  async (t) => {
    const { root, spool, registry, begin } = await start(t);
    write(join(root, "c1/app/old.log"));
    await begin();
    await converge(root, spool, "start");
    renameSync(join(root, "c1"), join(root, "c1-prev")); // the watch follows the moved directory
    write(join(root, "c1/app/new.log")); // a new directory under the old name, another inode
    write(join(root, "c1-prev/app/more.log"));
    await converge(root, spool, "rename then re-create");
    assert.deepEqual(spoolTargets(spool, root), [
      "c1-prev/app/more.log",
      "c1-prev/app/old.log",
      "c1/app/new.log",
    ]);
    write(join(root, "c1/app/later.log")); // only the watch on the new c1/app can report this
    write(join(root, "c1-prev/app/later.log"));
    await converge(root, spool, "files after the rename, in both trees");
    // The watches did it, not the catch-up pass that backs up lost events.
    const caughtUp = await metric(registry, "boxscope_logwatcher_reconcile_repairs_total", {
      kind: "catch_up",
    });
    assert.equal(caughtUp, 0);
  },
);

test(
  "reconcile at start repairs stale, missing and half-made links and leaves foreign entries alone",
  TIMEOUT,
  async (t) => {
    const { root, spool, registry, begin } = await start(t);
    write(join(root, "c1/a.log"));
    write(join(root, "c1/b.log"));
    mkdirSync(spool);
    symlinkSync(join(root, "c1/gone.log"), join(spool, "c1__gone.log")); // stale: target deleted
    mkdirSync(join(spool, ".boxscope-tmp"));
    symlinkSync(join(root, "c1/b.log"), join(spool, ".boxscope-tmp/1-abcdef")); // crash before rename
    // foreign: a plain file, a link out of the root, a link into the root under a non-scheme name
    writeFileSync(join(spool, "README"), "not ours\n");
    symlinkSync("/etc/passwd", join(spool, "passwd"));
    symlinkSync(join(root, "c1/a.log"), join(spool, "my-own-name.log"));
    symlinkSync("/etc/hostname", join(spool, "c1__b.log")); // squats a scheme name: left alone
    await begin();
    const want = [".boxscope-tmp", "README", "c1__a.log", "c1__b.log", "my-own-name.log", "passwd"];
    await waitFor("the spool repaired", () => {
      assert.deepEqual(readdirSync(spool).sort(), want);
      return true;
    });
    assert.equal(readlinkSync(join(spool, "c1__a.log")), join(root, "c1/a.log"));
    assert.equal(readlinkSync(join(spool, "c1__b.log")), "/etc/hostname");
    assert.deepEqual(readdirSync(join(spool, ".boxscope-tmp")), []);
    assert.equal(readlinkSync(join(spool, "my-own-name.log")), join(root, "c1/a.log"));
    assert.equal(await metric(registry, "boxscope_logwatcher_reconcile_repairs_total", { kind: "stale" }), 1);
    assert.equal(await metric(registry, "boxscope_logwatcher_reconcile_repairs_total", { kind: "temp" }), 1);
    assert.equal(
      await metric(registry, "boxscope_logwatcher_reconcile_repairs_total", { kind: "missing" }),
      1,
    );
    assert.equal(await metric(registry, "boxscope_logwatcher_errors_total", { reason: "name_taken" }), 1);
  },
);

test("include/exclude from config; periodic reconcile catches what no event reported", TIMEOUT, async (t) => {
  const { root, spool, begin } = await start(t, {
    include: ["*.log", "*.out"],
    exclude: ["debug-*"],
    reconcileIntervalSeconds: 0.3,
  });
  await begin();
  write(join(root, "c1/run.out"));
  write(join(root, "c1/debug-1.log"));
  write(join(root, "c1/x.log"));
  const want = ["c1/run.out", "c1/x.log"];
  const linked = (): true => {
    assert.deepEqual(spoolTargets(spool, root), want);
    return true;
  };
  await waitFor("the included files linked", linked);
  // Delete a link behind the watcher's back (no tree event): the periodic pass restores it.
  rmSync(join(spool, "c1__x.log"));
  await waitFor("the deleted link restored", linked);
});

test("config errors: missing log root, spool inside the log root", TIMEOUT, async (t) => {
  const { root } = makeDirs(t);
  const registry = new Registry();
  const bad = (over: Partial<LogwatcherConfig>) =>
    startLogwatcher(
      logwatcherConfigSchema.parse({
        dockerLogs: "off",
        podLogs: "off",
        logRoot: root,
        spool: join(root, "..", "s"),
        ...over,
      }),
      {
        logger: silentLogger(),
        registry,
      },
    );
  await assert.rejects(bad({ logRoot: join(root, "nope") }), /logwatcher logRoot .*nope: ENOENT/);
  await assert.rejects(bad({ spool: join(root, "spool") }), /must not contain each other/);
  assert.throws(() => logwatcherConfigSchema.parse({ dockerLogs: "off", podLogs: "off", includ: ["*.log"] }));
});

test(
  "files written the instant their new directories appear are all linked (no reconcile)",
  TIMEOUT,
  async (t) => {
    const { root, spool, begin } = await start(t, { reconcileIntervalSeconds: 3600 });
    await begin();
    for (let c = 0; c < 200; c++) {
      mkdirSync(join(root, `n${c}`, "a", "b"), { recursive: true });
      writeFileSync(join(root, `n${c}`, "a", "b", "x.log"), "x\n");
      writeFileSync(join(root, `n${c}`, "y.log"), "y\n");
    }
    await converge(root, spool, "200 new containers written at once");
    assert.equal(expectedFiles(root).length, 400);
  },
);
