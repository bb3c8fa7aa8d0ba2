import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { z } from "zod";
import { envName, loadConfig } from "./config.js";
import { UsageError } from "./errors.js";

const schema = z.strictObject({
  listen: z.string().default("127.0.0.1:9100"),
  intervalSeconds: z.number().positive().default(5),
});

function configFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "boxscope-config-"));
  const path = join(dir, "boxscope.yaml");
  writeFileSync(path, text);
  return path;
}

test("embedded defaults apply without a file", () => {
  assert.deepEqual(loadConfig("exporter", schema, { env: {} }), {
    listen: "127.0.0.1:9100",
    intervalSeconds: 5,
  });
});

test("flag beats env beats file", () => {
  const configPath = configFile("exporter:\n  listen: 0.0.0.0:1\n  intervalSeconds: 7\n");
  const env = { [envName("exporter", "intervalSeconds")]: "9" };
  const cfg = loadConfig("exporter", schema, { configPath, env, flags: { listen: "127.0.0.1:2" } });
  assert.deepEqual(cfg, { listen: "127.0.0.1:2", intervalSeconds: 9 });
  assert.equal(envName("exporter", "intervalSeconds"), "BOXSCOPE_EXPORTER_INTERVAL_SECONDS");
});

test("unknown key is one clear error naming it", () => {
  const configPath = configFile("exporter:\n  lisen: x\n");
  assert.throws(() => loadConfig("exporter", schema, { configPath, env: {} }), {
    name: "UsageError",
    code: "BXS_CONFIG_INVALID",
    message: 'config exporter: unknown key "lisen"',
  });
});

test("wrong type names the key", () => {
  const configPath = configFile("exporter:\n  intervalSeconds: soon\n");
  assert.throws(
    () => loadConfig("exporter", schema, { configPath, env: {} }),
    (e: unknown) => e instanceof UsageError && e.message.startsWith("config exporter.intervalSeconds:"),
  );
});

test("unknown section, bad YAML and missing file are clear errors", () => {
  assert.throws(() => loadConfig("exporter", schema, { configPath: configFile("exportr: {}\n"), env: {} }), {
    code: "BXS_CONFIG_FILE_INVALID",
    message: /unknown section "exportr"/,
  });
  assert.throws(() => loadConfig("exporter", schema, { configPath: configFile("a: [\n"), env: {} }), {
    code: "BXS_CONFIG_FILE_INVALID",
    message: /invalid YAML/,
  });
  assert.throws(() => loadConfig("exporter", schema, { configPath: "/nonexistent/b.yaml", env: {} }), {
    code: "BXS_CONFIG_FILE_UNREADABLE",
    message: "config file /nonexistent/b.yaml: cannot read (ENOENT)",
  });
});

test("an environment variable that is not a YAML value is a usage error naming it", () => {
  assert.throws(
    () => loadConfig("exporter", schema, { env: { BOXSCOPE_EXPORTER_LISTEN: "[" } }),
    (e: unknown) =>
      e instanceof UsageError && e.message.startsWith("BOXSCOPE_EXPORTER_LISTEN: invalid YAML value:"),
  );
});
