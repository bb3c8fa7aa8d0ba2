import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { repoRoot } from "../helpers/paths.js";

// scripts/node-headers.mjs picks the headers node-gyp builds our addons against (and, in .ci/run,
// the dependencies' addons): an addon built against another major's headers does not load.
type NodeHeadersDir = (env: NodeJS.ProcessEnv, execPath: string, version: string) => string | undefined;
const { nodeHeadersDir } = (await import(join(repoRoot, "scripts/node-headers.mjs"))) as {
  nodeHeadersDir: NodeHeadersDir;
};

const root = mkdtempSync(join(tmpdir(), "boxscope-node-headers-"));
after(() => rmSync(root, { recursive: true, force: true }));

/** A Node install prefix: bin/node (an empty file) and, given a major, include/node headers. */
function prefix(name: string, major?: number): string {
  const dir = join(root, name);
  mkdirSync(join(dir, "bin"), { recursive: true });
  writeFileSync(join(dir, "bin", "node"), "");
  if (major !== undefined) {
    mkdirSync(join(dir, "include", "node"), { recursive: true });
    writeFileSync(
      join(dir, "include", "node", "node_version.h"),
      `#define NODE_MAJOR_VERSION ${major}\n#define NODE_MINOR_VERSION 1\n`,
    );
  }
  return dir;
}

test("the running Node's own headers win, even over a configured nodedir", () => {
  const own = prefix("own24", 24);
  const other = prefix("distro20", 20);
  assert.equal(nodeHeadersDir({ npm_config_nodedir: other }, join(own, "bin", "node"), "24.22.3"), own);
});

test("a symlinked node is followed to the prefix it lives in", () => {
  const own = prefix("linked24", 24);
  const link = join(root, "usr-local-bin-node");
  symlinkSync(join(own, "bin", "node"), link);
  assert.equal(nodeHeadersDir({}, link, "24.22.3"), own);
});

test("without own headers, a configured nodedir of the same major is used", () => {
  const bare = prefix("bare");
  const configured = prefix("headers24", 24);
  assert.equal(
    nodeHeadersDir({ npm_config_nodedir: configured }, join(bare, "bin", "node"), "24.1.0"),
    configured,
  );
});

test("own headers of another major do not count", () => {
  const stale = prefix("stale20", 20);
  assert.equal(nodeHeadersDir({}, join(stale, "bin", "node"), "24.1.0"), undefined);
});

test("a configured nodedir of another major, or without headers, is one error naming it", () => {
  const bare = prefix("bare2");
  const old = prefix("old20", 20);
  assert.throws(
    () => nodeHeadersDir({ npm_config_nodedir: old }, join(bare, "bin", "node"), "24.22.3"),
    (e: Error) => e.message.includes(`npm_config_nodedir=${old}`) && e.message.includes("Node 20's headers"),
  );
  const empty = join(root, "empty");
  mkdirSync(empty);
  assert.throws(
    () => nodeHeadersDir({ npm_config_nodedir: empty }, join(bare, "bin", "node"), "24.22.3"),
    (e: Error) => e.message.includes(`npm_config_nodedir=${empty}`) && e.message.includes("no Node headers"),
  );
});

test("no headers anywhere leaves node-gyp to download them", () => {
  const bare = prefix("bare3");
  assert.equal(nodeHeadersDir({}, join(bare, "bin", "node"), "24.22.3"), undefined);
});

test("a node-gyp source-tree nodedir (src/node_version.h) is read too", () => {
  const bare = prefix("bare4");
  const tree = join(root, "node-src");
  mkdirSync(join(tree, "src"), { recursive: true });
  writeFileSync(join(tree, "src", "node_version.h"), "#define NODE_MAJOR_VERSION 24\n");
  assert.equal(nodeHeadersDir({ npm_config_nodedir: tree }, join(bare, "bin", "node"), "24.0.0"), tree);
});
