import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { test } from "node:test";
import ts from "typescript";
import { repoRoot } from "../helpers/paths.js";

// Dependencies point down. The parts (shim/, exporter/, pipeline/, alerts/, dashboards/) use
// common/ and cgroup/, never each other's internals; cgroup/ uses common/; common/ uses nothing
// of ours. cli/ is the top: it registers every part's commands, so it may import them all.
// Around the product:
// - test/ may import any product folder (a test imports what it tests), scripts/ (the build
//   tooling it tests) and itself, never bench/;
// - bench/ may import anything but scripts/ (a bench measures the product and reuses test/helpers);
// - scripts/ (build and CI tooling run by node before any build) imports only scripts/.
// Two exceptions by kind of file: a test beside its code (`*.test.ts` in a product folder) may also
// import test/ (its helpers and fixtures); a part's build script (`*.mjs`, e.g. native/build.mjs)
// may also import scripts/. No product file imports test/ or bench/.
// Checked: every .ts and .mjs file's static imports and re-exports, dynamic `import("...")` and
// type-level `import("...")`, whose specifier is a path ("./", "../", "/"); packages and node:
// built-ins are not ours to order.

const PARTS = ["shim", "exporter", "pipeline", "alerts", "dashboards"] as const;
const PRODUCT = ["common", "cgroup", ...PARTS, "cli"] as const;

/** Per top-level folder: the top-level folders its files may import from. */
const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  common: ["common"],
  cgroup: ["cgroup", "common"],
  ...Object.fromEntries(PARTS.map((p) => [p, [p, "common", "cgroup"]])),
  cli: PRODUCT,
  test: [...PRODUCT, "scripts", "test"],
  bench: [...PRODUCT, "test", "bench"],
  scripts: ["scripts"],
};

/** Not ours, or not source: vendored code, packages, build output. */
const SKIPPED_DIRS = new Set([
  ".git",
  "node_modules",
  "dist",
  "build",
  "build-deps",
  "third_party",
  ".cache",
  "tmp",
]);
const CHECKED_FILE = /\.(ts|mjs)$/;

/** The module specifiers `text` imports, in source order: statements, re-exports, import() calls and types. */
function importsOf(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      if (ts.isStringLiteral(node.moduleSpecifier)) found.push(node.moduleSpecifier.text);
    } else if (
      ts.isImportEqualsDeclaration(node) &&
      ts.isExternalModuleReference(node.moduleReference) &&
      ts.isStringLiteral(node.moduleReference.expression)
    ) {
      found.push(node.moduleReference.expression.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      // A computed path cannot be checked here; say so rather than let it pass unseen.
      found.push(arg && ts.isStringLiteralLike(arg) ? arg.text : `<computed: ${arg?.getText(source) ?? ""}>`);
    } else if (ts.isImportTypeNode(node)) {
      const arg = node.argument;
      if (ts.isLiteralTypeNode(arg) && ts.isStringLiteral(arg.literal)) found.push(arg.literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** Why `specifier` in the file at `file` (relative to the repository root) breaks the rules; undefined when it does not. */
function violationOf(file: string, specifier: string): string | undefined {
  const from = topFolder(file);
  if (specifier.startsWith("<computed")) {
    // test/ and bench/ load .mjs tooling by its path in the checkout (they run from dist/).
    return from === "test" || from === "bench"
      ? undefined
      : `${file}: import(${specifier}) cannot be checked`;
  }
  if (!specifier.startsWith(".") && !specifier.startsWith("/")) return undefined; // a package or node: built-in
  const target = relative(repoRoot, resolve(repoRoot, dirname(file), specifier));
  const to = target.startsWith("..") ? undefined : topFolder(target);
  const may = MAY_IMPORT[from];
  if (!may)
    return `${file}: ${from}/ has no import rule (add it to MAY_IMPORT in test/structure/imports.test.ts)`;
  const allowed = [...may];
  if (file.endsWith(".test.ts") && (PRODUCT as readonly string[]).includes(from)) allowed.push("test");
  if (file.endsWith(".mjs")) allowed.push("scripts");
  if (to !== undefined && allowed.includes(to)) return undefined;
  return `${file}: "${specifier}" → ${to === undefined ? "outside the repository" : `${to}/`} (${from}/ may import ${allowed.map((f) => `${f}/`).join(", ")})`;
}

function topFolder(path: string): string {
  return path.split(sep)[0] ?? path;
}

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) yield* sourceFiles(join(dir, entry.name));
    } else if (CHECKED_FILE.test(entry.name) && !entry.name.endsWith(".d.ts")) {
      yield relative(repoRoot, join(dir, entry.name));
    }
  }
}

test("the extractor finds every kind of import and nothing in strings or comments", () => {
  const text = `
    import a from "./a.js";
    import type { B } from "../b.js";
    import "./side-effect.js";
    export { c } from "./c.js";
    export * from "./d.js";
    const e = await import("./e.js");
    type F = typeof import("./f.js");
    let g: import("./g.js").G;
    const h = await import(\`./h.js\`);
    const i = await import(name);
    // import { x } from "./in-a-comment.js";
    const s = 'import("./in-a-string.js")';
    const t = \`import { y } from "./in-a-template.js"\`;
  `;
  assert.deepEqual(importsOf("x.ts", text), [
    "./a.js",
    "../b.js",
    "./side-effect.js",
    "./c.js",
    "./d.js",
    "./e.js",
    "./f.js",
    "./g.js",
    "./h.js",
    "<computed: name>",
  ]);
});

test("the rules flag a part importing another part, and product code importing test/ or bench/", () => {
  const flagged: [string, string][] = [
    ["pipeline/metrics-listen.ts", "../exporter/server.js"],
    ["exporter/cli.ts", "../cli/main.js"],
    ["shim/fuse/cli.ts", "../../pipeline/spool/config.js"],
    ["dashboards/host.ts", "../exporter/families.js"],
    ["cgroup/cpu.ts", "../shim/render.js"],
    ["common/config.ts", "../cgroup/types.js"],
    ["shim/render.ts", "../test/helpers/paths.js"],
    ["cli/main.ts", "../bench/cli/run.js"],
    ["test/cli/up.test.ts", "../../bench/pipeline/common.js"],
    ["scripts/bundle.mjs", "../common/config.js"],
    ["common/x.ts", "../../outside.js"],
    ["deploy/tool.ts", "../common/config.js"],
    ["exporter/cli.ts", "<computed: name>"],
  ];
  for (const [file, spec] of flagged) assert.ok(violationOf(file, spec), `${file} → ${spec} passed`);
  const allowed: [string, string][] = [
    ["pipeline/shipper/cli.ts", "../../common/service-command.js"],
    ["pipeline/indexer/config.ts", "../kafka/config.js"],
    ["exporter/collectors/container-cpu.ts", "../../cgroup/cpu.js"],
    ["cgroup/handle.ts", "../common/errors.js"],
    ["cli/up-run.ts", "../shim/fuse/service.js"],
    ["shim/views/cpus.test.ts", "../../test/shim/view-inputs.js"],
    ["pipeline/native/build.mjs", "../../scripts/node-headers.mjs"],
    ["test/alerts/e2e.test.ts", "../../dashboards/index.js"],
    ["bench/shim/run.ts", "../../test/helpers/wait.js"],
    ["test/deploy/helm.test.ts", '<computed: join(repoRoot, "scripts/chart-rules.mjs")>'],
    ["shim/render.ts", "zod"],
    ["shim/render.ts", "node:fs"],
  ];
  for (const [file, spec] of allowed) assert.equal(violationOf(file, spec), undefined, `${file} → ${spec}`);
});

test("no file imports across the boundaries", () => {
  const violations: string[] = [];
  let files = 0;
  let relativeImports = 0;
  for (const file of sourceFiles(repoRoot)) {
    files++;
    for (const spec of importsOf(file, readFileSync(join(repoRoot, file), "utf8"))) {
      if (spec.startsWith(".")) relativeImports++;
      const v = violationOf(file, spec);
      if (v) violations.push(v);
    }
  }
  // The walk found the tree (a wrong root would find nothing and pass).
  assert.ok(files > 300 && relativeImports > 1000, `only ${files} files, ${relativeImports} imports seen`);
  assert.deepEqual(violations, []);
});
