import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { test } from "node:test";
import { repoRoot } from "../helpers/paths.js";
import { parseSamples, value } from "./helpers.js";

test("boxscope exporter: serves /metrics and /healthz, exits 0 on SIGTERM", {
  timeout: 30_000,
}, async (t) => {
  const child = spawn(
    process.execPath,
    [
      join(repoRoot, "bin/boxscope.js"),
      "exporter",
      "--listen",
      "127.0.0.1:0",
      "--no-kmsg",
      "--log-root",
      "/",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  t.after(() => child.kill("SIGKILL"));
  let err = "";
  const address = await new Promise<string>((resolve, reject) => {
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
      const m = /"address":"([^"]+)"/.exec(err);
      if (m) resolve(m[1] as string);
    });
    child.once("exit", (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
  const health = await fetch(`http://${address}/healthz`);
  assert.equal(health.status, 200);
  const samples = parseSamples(await (await fetch(`http://${address}/metrics`)).text());
  assert.ok((value(samples, "boxscope_host_threads") ?? 0) > 0);
  child.kill("SIGTERM");
  const [code] = await once(child, "exit");
  assert.equal(code, 0, err);
});
