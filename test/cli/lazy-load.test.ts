import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { repoRoot } from "../helpers/paths.js";

// Every command registers in cli/main.ts, so one eager import in any command's cli module is paid
// by all of them (module loading is most of `boxscope ship`'s start-up; bench/cli/run.ts).
// bin/boxscope.js runs the bundle (scripts/bundle.mjs): a module-load hook prints every ES module
// the process loads, i.e. the bundle's chunks (and packages left out of it), and the bundle's
// metafile says which of our modules and which packages each chunk holds.
const HOOKS = `import { writeSync } from "node:fs";
export async function load(url, context, next) {
  const r = await next(url, context);
  writeSync(2, "LOADED " + url + "\\n");
  return r;
}`;
const REGISTER = `import { register } from "node:module";
register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(HOOKS)}`)});`;

/** esbuild's metafile of the bundle: each output chunk with the input modules it holds. */
function bundleMeta(): { outputs: Record<string, { inputs: Record<string, unknown> }> } {
  return JSON.parse(readFileSync(join(repoRoot, "dist/bundle/meta.json"), "utf8"));
}

interface Loaded {
  packages: Set<string>;
  ownModules: Set<string>;
}

/** Runs the CLI until it exits or `until` matches a stderr line; returns what it loaded. */
async function loadsOf(args: string[], until?: RegExp): Promise<Loaded> {
  const child = spawn(
    process.execPath,
    [
      "--import",
      `data:text/javascript,${encodeURIComponent(REGISTER)}`,
      join(repoRoot, "bin/boxscope.js"),
      ...args,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.stderr.on("data", (b: Buffer) => {
    stderr += b.toString();
    if (until?.test(stderr)) child.kill("SIGKILL");
  });
  const killer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  await exited;
  clearTimeout(killer);
  if (until) assert.match(stderr, until, `boxscope ${args.join(" ")} never got there:\n${stderr}`);
  const loaded: Loaded = { packages: new Set(), ownModules: new Set() };
  const add = (path: string) => {
    const pkg = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path)?.[1];
    if (pkg) loaded.packages.add(pkg);
    else if (path.includes("dist/")) loaded.ownModules.add(path.split("dist/")[1] ?? path);
  };
  const meta = bundleMeta();
  for (const [, url] of stderr.matchAll(/^LOADED (\S+)$/gm)) {
    const chunk = /\/(dist\/bundle\/[^/]+\.js)$/.exec(url ?? "")?.[1];
    const inputs = chunk ? meta.outputs[chunk]?.inputs : undefined;
    if (chunk && !inputs) assert.fail(`${chunk} is not in dist/bundle/meta.json`);
    for (const path of inputs ? Object.keys(inputs) : [url ?? ""]) add(path);
  }
  return loaded;
}

test("--help loads commander and the commands' registration modules, nothing else", {
  timeout: 30_000,
}, async () => {
  const { packages, ownModules } = await loadsOf(["--help"]);
  assert.deepEqual([...packages], ["commander"]);
  const heavy = [...ownModules].filter((m) =>
    /config\.js$|render\.js$|service\.js$|exporter\.js$|up-run\.js$/.test(m),
  );
  // common/service.js is the signal latch main() sets first; the rest must wait for their command.
  assert.deepEqual(heavy, ["common/service.js"]);
});

test("ship loads none of the other commands' dependencies before and while reading", {
  timeout: 30_000,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "boxscope-lazy-load-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, "log", "c1"), { recursive: true });
  mkdirSync(join(dir, "spool"));
  writeFileSync(join(dir, "log", "c1", "app.log"), "one\n");
  symlinkSync(join(dir, "log", "c1", "app.log"), join(dir, "spool", "c1__app.log"));
  const { packages, ownModules } = await loadsOf(
    [
      "ship",
      "--spool",
      join(dir, "spool"),
      "--log-root",
      join(dir, "log"),
      // Unreachable: the file is read before the producer connects, which is as far as this goes.
      "--brokers",
      "127.0.0.1:1",
      "--positions",
      join(dir, "positions.json"),
    ],
    /"msg":"tracking new file"/,
  );
  for (const pkg of ["zod", "pino", "prom-client"]) assert.ok(packages.has(pkg), `ship needs ${pkg}`);
  for (const pkg of ["yaml", "fastify", "kafkajs", "@elastic/elasticsearch", "chokidar"]) {
    assert.ok(!packages.has(pkg), `ship loaded ${pkg}`);
  }
  // Every command's registration module loads (cli.js, shim's render-cli.js and view-paths.js); the
  // spool's naming rules are the shipper's too.
  const foreign = [...ownModules].filter(
    (m) =>
      !/(^|\/)(cli|render-cli|view-paths)\.js$/.test(m) &&
      /^(exporter|shim|cgroup|dashboards)\/|indexer\/|spool\/(config|service)|cli\/up-run/.test(m),
  );
  assert.deepEqual(foreign, []);
});
