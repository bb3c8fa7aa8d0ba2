import { execFile, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort, tail } from "./kafka.js";
import { repoRoot } from "./paths.js";

const runFile = promisify(execFile);

export function elasticsearchPrereq(): { present: boolean; why: string } {
  const java = spawnSync("java", ["-version"]).status === 0;
  const mvn = spawnSync("mvn", ["-v"]).status === 0;
  const unzip = spawnSync("unzip", ["-v"]).status === 0;
  const setpriv = process.getuid?.() !== 0 || spawnSync("setpriv", ["--version"]).status === 0;
  return {
    present: java && mvn && unzip && setpriv,
    why: `Elasticsearch needs Java 17, Maven, unzip and (as root) setpriv: java=${java} mvn=${mvn} unzip=${unzip} setpriv=${setpriv}`,
  };
}

/**
 * A file-realm user of a node started with security on; `role` is `superuser` or
 * `boxscope_read_only` (scripts/elasticsearch.sh defines it: read every index, nothing else).
 */
export interface ElasticsearchUser {
  name: string;
  password: string;
  role: "superuser" | "boxscope_read_only";
}

export interface ElasticsearchNode {
  url: string;
  /** The release running, e.g. "8.19.4" (scripts/elasticsearch.sh picks it from the major). */
  version: string;
  /** Stops the node but keeps its data dir and port; `start` brings it back. */
  pause(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

const script = join(repoRoot, "scripts/elasticsearch.sh");

/**
 * One real single-node Elasticsearch on loopback (integ-test-zip from Maven Central, security off,
 * 512 MiB heap), as the unprivileged user boxscope-es when running as root. `major` picks the
 * release line ("8" or "9"); unset, BOXSCOPE_ES_VERSION decides (8 when that is unset too).
 */
export async function startElasticsearch(
  major?: "8" | "9",
  opts: { users?: ElasticsearchUser[] } = {},
): Promise<ElasticsearchNode> {
  const users = opts.users ?? [];
  const env = {
    ...process.env,
    ...(major ? { BOXSCOPE_ES_VERSION: major } : {}),
    ...(users.length
      ? { BOXSCOPE_ES_USERS: users.map((u) => `${u.name}:${u.password}:${u.role}`).join(" ") }
      : {}),
  };
  const run = (cmd: string, args: string[], opts: { maxBuffer?: number } = {}) =>
    runFile(cmd, args, { ...opts, env });
  // With security on, readiness is asked as the first user (a superuser).
  const [first] = users;
  const headers: Record<string, string> = first
    ? { authorization: `Basic ${Buffer.from(`${first.name}:${first.password}`).toString("base64")}` }
    : {};
  await run("bash", [script, "fetch"], { maxBuffer: 1 << 24 });
  const version = (await run("bash", [script, "version"])).stdout.trim();
  const dir = mkdtempSync(join(tmpdir(), "boxscope-test-es-"));
  chmodSync(dir, 0o755);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const waitReady = async () => {
    // A deadline for a node that will not come up, generous: JVM start-up on a loaded machine is slow.
    const deadline = Date.now() + 300_000;
    for (;;) {
      try {
        const res = await fetch(`${url}/_cluster/health?wait_for_status=yellow&timeout=5s`, { headers });
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline)
        throw new Error(`Elasticsearch did not become ready at ${url}\n${tail(join(dir, "es.out"))}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  const node: ElasticsearchNode = {
    url,
    version,
    async pause() {
      await run("bash", [script, "stop", dir]);
    },
    async start() {
      await run("bash", [script, "start", dir, String(port)]);
      await waitReady();
    },
    async stop() {
      await run("bash", [script, "stop", dir]).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await node.start();
  } catch (e) {
    await node.stop();
    throw e;
  }
  return node;
}

/** Documents in the indices matching `pattern`, after a refresh (0 when none exists). */
export async function esCount(
  url: string,
  pattern: string,
  headers: Record<string, string> = {},
): Promise<number> {
  await fetch(`${url}/${pattern}/_refresh`, { method: "POST", headers });
  const res = await fetch(`${url}/${pattern}/_count`, { headers });
  return res.ok ? ((await res.json()) as { count: number }).count : 0;
}
