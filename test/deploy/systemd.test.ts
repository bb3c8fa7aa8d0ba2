import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { upConfigSchema } from "../../cli/up-run.js";
import { type ConfigSources, loadConfig } from "../../common/config.js";
import { loadExporterConfig } from "../../exporter/config.js";
import { indexConfigSchema } from "../../pipeline/indexer/config.js";
import { shipConfigSchema } from "../../pipeline/shipper/config.js";
import { logwatcherConfigSchema } from "../../pipeline/spool/config.js";
import { shimConfigSchema } from "../../shim/config.js";
import { repoRoot } from "../helpers/paths.js";
import { hasCommand, isRoot, requirePrereq } from "../helpers/prereq.js";

// deploy/systemd/install.sh run for real (--root into a temporary directory), and its units checked
// by systemd's own parser, systemd-analyze verify (it works without systemd as PID 1).
const systemdDir = join(repoRoot, "deploy/systemd");
const installer = join(systemdDir, "install.sh");
const units = ["boxscope.service", "boxscope-index.service"];
const node = realpathSync(process.execPath);
const work = mkdtempSync(join(tmpdir(), "boxscope-systemd-"));
after(() => rmSync(work, { recursive: true, force: true }));

function install(root: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const res = spawnSync("bash", [installer, "--root", root, "--node", process.execPath, ...args], {
    encoding: "utf8",
  });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

/**
 * systemd-analyze verify exits 0 on an unknown directive or a value it cannot parse, which
 * systemd then ignores when it runs the unit: any message at all counts as a failure.
 */
function verify(unitPath: string): { ok: boolean; output: string } {
  const res = spawnSync("systemd-analyze", ["verify", "--man=no", unitPath], { encoding: "utf8" });
  const output = `${res.stdout}${res.stderr}`.trim();
  return { ok: res.status === 0 && output === "", output };
}

/** The unit's `Key=value` lines, last one winning, comments and sections left out. */
function directives(unitText: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of unitText.split("\n")) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m?.[1] !== undefined) out.set(m[1], m[2] ?? "");
  }
  return out;
}

const needsRoot = "needs root (install.sh refuses to run without it)";
const needsAnalyze = "needs systemd-analyze (Debian package systemd)";

test("install.sh --root --no-start writes both units with this checkout's and Node's paths, and a starter config", (t) => {
  if (!requirePrereq(t, isRoot(), needsRoot)) return;
  const root = join(work, "fresh");
  const res = install(root, "--no-start", "--with-index");
  assert.equal(res.status, 0, res.stderr);
  for (const unit of units) {
    const text = readFileSync(join(root, "etc/systemd/system", unit), "utf8");
    const exec = directives(text).get("ExecStart") ?? "";
    assert.match(exec, new RegExp(`^${node} ${repoRoot}/bin/boxscope\\.js --config \\S+ (up|index)$`));
    if (repoRoot !== "/opt/boxscope") assert.doesNotMatch(text, /\/opt\/boxscope/, unit);
    if (node !== "/opt/node-v24/bin/node") assert.doesNotMatch(text, /\/opt\/node-v24/, unit);
    assert.equal(statSync(join(root, "etc/systemd/system", unit)).mode & 0o777, 0o644);
  }
  const config = join(root, "etc/boxscope/config.yaml");
  assert.equal(readFileSync(config, "utf8"), readFileSync(join(systemdDir, "config.yaml"), "utf8"));
  assert.equal(statSync(config).mode & 0o777, 0o600, "root-only: it may hold Elasticsearch credentials");
  assert.equal(
    existsSync(join(root, "etc/systemd/system/multi-user.target.wants")),
    false,
    "--no-start enables nothing",
  );
  assert.match(res.stdout, /--no-start: not enabled, not started/);
});

test("install.sh keeps an existing config and installs boxscope-index only with --with-index", (t) => {
  if (!requirePrereq(t, isRoot(), needsRoot)) return;
  const root = join(work, "again");
  assert.equal(install(root, "--no-start").status, 0);
  assert.equal(existsSync(join(root, "etc/systemd/system/boxscope-index.service")), false);
  const config = join(root, "etc/boxscope/config.yaml");
  writeFileSync(config, "exporter:\n  listen: 0.0.0.0:9464\n");
  const res = install(root, "--no-start");
  assert.equal(res.status, 0, res.stderr);
  assert.equal(readFileSync(config, "utf8"), "exporter:\n  listen: 0.0.0.0:9464\n");
  assert.match(res.stdout, /kept the existing .*config\.yaml/);
});

test("install.sh --root without --no-start enables the units in that root", (t) => {
  if (!requirePrereq(t, isRoot() && hasCommand("systemctl"), `${needsRoot} and systemctl`)) return;
  const root = join(work, "enabled");
  const res = install(root, "--with-index");
  assert.equal(res.status, 0, res.stderr);
  for (const unit of units) {
    const link = join(root, "etc/systemd/system/multi-user.target.wants", unit);
    assert.ok(lstatSync(link).isSymbolicLink(), link);
    assert.equal(readlinkSync(link), `/etc/systemd/system/${unit}`);
  }
});

test("install.sh refuses a Node that is not 24 in one line naming it", (t) => {
  if (!requirePrereq(t, isRoot(), needsRoot)) return;
  const fakeNode = join(work, "node20");
  writeFileSync(fakeNode, "#!/bin/sh\necho v20.19.2\n", { mode: 0o755 });
  const root = join(work, "old-node");
  const res = spawnSync("bash", [installer, "--root", root, "--no-start", "--node", fakeNode], {
    encoding: "utf8",
  });
  assert.equal(res.status, 1);
  assert.equal(
    res.stderr,
    `install.sh: ${fakeNode} is Node v20.19.2, boxscope needs Node 24 (its native addons are built for that major): pass --node PATH\n`,
  );
  assert.equal(existsSync(join(root, "etc/systemd/system/boxscope.service")), false);
});

/** A copy of deploy/systemd/ in a checkout of its own at `dir`, built (dist, node_modules) or not. */
function fakeCheckout(dir: string, opts: { built: boolean }): string {
  mkdirSync(join(dir, "deploy"), { recursive: true });
  cpSync(systemdDir, join(dir, "deploy/systemd"), { recursive: true });
  if (opts.built) {
    mkdirSync(join(dir, "dist/bundle"), { recursive: true });
    mkdirSync(join(dir, "node_modules"));
    writeFileSync(join(dir, "dist/bundle/main.js"), "");
  }
  return join(dir, "deploy/systemd/install.sh");
}

test("install.sh refuses an unbuilt checkout and a path systemd would split, in one line each", (t) => {
  if (!requirePrereq(t, isRoot(), needsRoot)) return;
  const unbuilt = fakeCheckout(join(work, "unbuilt"), { built: false });
  let res = spawnSync("bash", [unbuilt, "--root", join(work, "r1"), "--no-start"], { encoding: "utf8" });
  assert.equal(res.status, 1);
  assert.match(
    res.stderr,
    /^install\.sh: \S+\/unbuilt is not built: run `npm ci && npm run build` there with \S+ first\n$/,
  );
  const spaced = fakeCheckout(join(work, "with space"), { built: true });
  res = spawnSync("bash", [spaced, "--root", join(work, "r2"), "--no-start"], { encoding: "utf8" });
  assert.equal(res.status, 1);
  assert.match(
    res.stderr,
    /^install\.sh: path \S+\/with space has characters a unit's ExecStart= would need escaped/,
  );
});

test("install.sh stops on a unit that systemd-analyze verify complains about", (t) => {
  if (!requirePrereq(t, isRoot(), needsRoot)) return;
  if (!requirePrereq(t, hasCommand("systemd-analyze"), needsAnalyze)) return;
  const script = fakeCheckout(join(work, "broken"), { built: true });
  const unit = join(work, "broken/deploy/systemd/boxscope.service");
  writeFileSync(unit, readFileSync(unit, "utf8").replace("CPUQuota=100%", "CPUQuota=lots"));
  const res = spawnSync("bash", [script, "--root", join(work, "r3"), "--node", process.execPath], {
    encoding: "utf8",
  });
  assert.equal(res.status, 1);
  assert.match(
    res.stderr,
    /^install\.sh: systemd-analyze verify boxscope\.service: .*Invalid CPU quota 'lots'/,
  );
  assert.equal(existsSync(join(work, "r3/etc/systemd/system/boxscope.service")), false, "nothing installed");
  assert.equal(existsSync(join(work, "r3/etc/boxscope/config.yaml")), false, "nothing installed");
});

test("systemd-analyze verify passes on both rendered units", (t) => {
  if (!requirePrereq(t, isRoot(), needsRoot)) return;
  if (!requirePrereq(t, hasCommand("systemd-analyze"), needsAnalyze)) return;
  const root = join(work, "verify");
  assert.equal(install(root, "--no-start", "--with-index").status, 0);
  for (const unit of units) {
    const res = verify(join(root, "etc/systemd/system", unit));
    assert.ok(res.ok, `${unit}: ${res.output}`);
  }
});

test("the units in the repository verify as they are for the default layout (/opt/node-v24)", (t) => {
  if (!requirePrereq(t, hasCommand("systemd-analyze"), needsAnalyze)) return;
  if (
    !requirePrereq(
      t,
      existsSync("/opt/node-v24/bin/node"),
      "needs Node 24 in /opt/node-v24 (.ci/setup.d/05-node.sh)",
    )
  )
    return;
  for (const unit of units) {
    const res = verify(join(systemdDir, unit));
    assert.ok(res.ok, `${unit}: ${res.output}`);
  }
});

test("verify catches a broken unit: an unknown directive, a bad value, a missing program", (t) => {
  if (!requirePrereq(t, hasCommand("systemd-analyze"), needsAnalyze)) return;
  const good = readFileSync(join(systemdDir, "boxscope.service"), "utf8").replaceAll(
    "/opt/node-v24/bin/node",
    process.execPath,
  );
  const cases: [string, string][] = [
    ["unknown-directive", good.replace("MemoryMax=512M", "MemoryMaximum=512M")],
    ["bad-value", good.replace("Type=notify", "Type=notifyy")],
    ["missing-program", good.replace(/^ExecStart=\S+/m, `ExecStart=${join(work, "no-such-node")}`)],
  ];
  const goodPath = join(work, "good.service");
  writeFileSync(goodPath, good);
  assert.ok(verify(goodPath).ok, verify(goodPath).output);
  for (const [name, text] of cases) {
    assert.notEqual(text, good, `${name}: the edit must change the unit`);
    const path = join(work, `${name}.service`);
    writeFileSync(path, text);
    const res = verify(path);
    assert.equal(res.ok, false, `${name} passed verify`);
    assert.match(res.output, new RegExp(`${name}\\.service`), res.output);
  }
});

test("boxscope.service: notify readiness, before the runtimes, restarts, the Helm chart's quotas", () => {
  const d = directives(readFileSync(join(systemdDir, "boxscope.service"), "utf8"));
  assert.equal(d.get("Type"), "notify");
  assert.equal(d.get("NotifyAccess"), "all");
  assert.deepEqual(d.get("Before")?.split(" ").sort(), [
    "containerd.service",
    "crio.service",
    "docker.service",
    "kubelet.service",
  ]);
  assert.equal(d.get("Restart"), "always");
  assert.equal(d.get("RestartSec"), "1");
  assert.equal(d.get("KillMode"), "mixed");
  assert.equal(d.get("CPUQuota"), "100%");
  assert.equal(d.get("MemoryMax"), "512M");
  const index = directives(readFileSync(join(systemdDir, "boxscope-index.service"), "utf8"));
  assert.equal(index.get("DynamicUser"), "yes");
  assert.equal(index.get("LoadCredential"), "config.yaml:/etc/boxscope/config.yaml");
});

/** The starter config with its single-`#` example lines uncommented (`##` lines are prose). */
function uncommentExamples(text: string): string {
  return text
    .split("\n")
    .map((l) => (l.startsWith("# ") ? l.slice(2) : l === "#" ? "" : l))
    .join("\n");
}

function loadEverySection(sources: ConfigSources): void {
  loadConfig("up", upConfigSchema, sources);
  loadConfig("shim", shimConfigSchema, sources);
  loadExporterConfig(sources, { requireKmsg: false });
  loadConfig("logwatcher", logwatcherConfigSchema, sources);
  loadConfig("ship", shipConfigSchema, sources);
  loadConfig("index", indexConfigSchema, sources);
}

test("the starter config is valid as written and with every example uncommented", () => {
  const starter = readFileSync(join(systemdDir, "config.yaml"), "utf8");
  const asWritten = join(work, "starter.yaml");
  writeFileSync(asWritten, starter);
  loadEverySection({ configPath: asWritten, env: {} });
  const examples = uncommentExamples(starter);
  for (const section of ["up", "shim", "exporter", "logwatcher", "ship", "index"])
    assert.match(
      examples,
      new RegExp(`^${section}:$`, "m"),
      `the starter config shows the ${section} section`,
    );
  const uncommented = join(work, "starter-examples.yaml");
  writeFileSync(uncommented, examples);
  loadEverySection({ configPath: uncommented, env: {} });
  // The check has teeth: a misspelt key in an example is refused.
  writeFileSync(uncommented, examples.replace("  topic: container-logs", "  topik: container-logs"));
  assert.throws(() => loadEverySection({ configPath: uncommented, env: {} }), /unknown key "topik"/);
});
