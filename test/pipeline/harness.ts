import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before } from "node:test";
import { type ElasticsearchNode, startElasticsearch } from "../helpers/elasticsearch.js";

export { esCount } from "../helpers/elasticsearch.js";

import { type KafkaBroker, startKafka } from "../helpers/kafka.js";
import { repoRoot } from "../helpers/paths.js";
import { addonProcessEnv } from "../helpers/sanitized-addons.js";

/** A `node bin/boxscope.js ...` child whose stderr is kept for assertions and failure reports. */
export class CliProcess {
  readonly child: ChildProcess;
  stderr = "";
  readonly exited: Promise<number | null>;

  constructor(args: string[], env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, [join(repoRoot, "bin/boxscope.js"), ...args], {
      cwd: repoRoot,
      env: addonProcessEnv({ ...process.env, ...env }),
      stdio: ["ignore", "ignore", "pipe"],
    });
    this.child.stderr?.setEncoding("utf8");
    this.child.stderr?.on("data", (d: string) => {
      this.stderr += d;
      if (this.stderr.length > 4_000_000) this.stderr = this.stderr.slice(-2_000_000);
    });
    this.exited = new Promise((resolve) => this.child.once("exit", (code) => resolve(code)));
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async kill9(): Promise<void> {
    if (this.alive) this.child.kill("SIGKILL");
    await this.exited;
  }

  /** SIGTERM and the exit code. */
  async term(): Promise<number | null> {
    if (this.alive) this.child.kill("SIGTERM");
    return this.exited;
  }

  async waitForStderr(re: RegExp, timeoutMs: number, count = 1): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((this.stderr.match(new RegExp(re.source, "g")) ?? []).length < count) {
      if (!this.alive) throw new Error(`process exited before printing ${re}:\n${this.stderr.slice(-3000)}`);
      if (Date.now() > deadline)
        throw new Error(`no ${re} on stderr after ${timeoutMs} ms:\n${this.stderr.slice(-3000)}`);
      await sleep(100);
    }
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export { indexArgs, shipArgs } from "../helpers/cli-args.js";

/** One metric's value from a Prometheus text scrape (unlabelled series), or undefined. */
export function metric(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Scrapes `url` until `ready(text)` holds; returns the last scrape. */
export async function scrapeUntil(
  url: string,
  ready: (text: string) => boolean,
  timeoutMs: number,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = "";
  for (;;) {
    try {
      const res = await fetch(url);
      text = await res.text();
      if (res.ok && ready(text)) return text;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline)
      throw new Error(`${url} not ready after ${timeoutMs} ms; last scrape:\n${text}`);
    await sleep(300);
  }
}

interface PositionsDoc {
  files: Record<string, { dev: number; ino: number; offset: number }>;
}

/** Waits until the shipper's positions say the file (dev/ino) is acknowledged up to `size`. */
export async function waitAcked(
  positionsFile: string,
  file: { dev: number; ino: number; size: number },
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const doc = JSON.parse(readFileSync(positionsFile, "utf8")) as PositionsDoc;
      if (
        Object.values(doc.files).some(
          (e) => e.dev === file.dev && e.ino === file.ino && e.offset >= file.size,
        )
      )
        return;
    } catch {
      // not written yet
    }
    if (Date.now() > deadline) {
      let now = "";
      try {
        now = readFileSync(positionsFile, "utf8");
      } catch {
        now = "(none)";
      }
      throw new Error(`positions never reached ${file.size} for inode ${file.ino}: ${now}`);
    }
    await sleep(200);
  }
}

export function fileState(path: string): { dev: number; ino: number; size: number } {
  const st = statSync(path);
  return { dev: st.dev, ino: st.ino, size: st.size };
}

/** Every document of the indices matching `pattern` (small test sets: one search, sorted by _id). */
export async function esDocuments(url: string, pattern: string): Promise<Array<Record<string, unknown>>> {
  await fetch(`${url}/${pattern}/_refresh`, { method: "POST" });
  const res = await fetch(`${url}/${pattern}/_search?size=10000&sort=_doc`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: { match_all: {} } }),
  });
  const body = (await res.json()) as { hits?: { hits: Array<{ _source: Record<string, unknown> }> } };
  return body.hits?.hits.map((h) => h._source) ?? [];
}

/**
 * `_source` of every document of the indices matching `pattern`, any number (scrolled); only the
 * `fields` named, when given (less to fetch for a count over hundreds of thousands).
 */
export async function esAllDocuments(
  url: string,
  pattern: string,
  fields?: string[],
): Promise<Array<Record<string, unknown>>> {
  type Page = { _scroll_id?: string; hits?: { hits: Array<{ _source: Record<string, unknown> }> } };
  await fetch(`${url}/${pattern}/_refresh`, { method: "POST" });
  const post = async (path: string, body: unknown): Promise<Page> => {
    const res = await fetch(`${url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`Elasticsearch ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as Page;
  };
  const out: Array<Record<string, unknown>> = [];
  let page = await post(`/${pattern}/_search?scroll=1m`, {
    size: 10000,
    sort: ["_doc"],
    ...(fields ? { _source: fields } : {}),
  });
  while (page.hits && page.hits.hits.length > 0) {
    for (const h of page.hits.hits) out.push(h._source);
    page = await post("/_search/scroll", { scroll: "1m", scroll_id: page._scroll_id });
  }
  if (page._scroll_id)
    await fetch(`${url}/_search/scroll`, {
      method: "DELETE",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ scroll_id: page._scroll_id }),
    });
  return out;
}

/** Kafka and Elasticsearch for one `describe` block (see pipelineServices). */
export interface PipelineServices {
  /** Both services; throws when `before` could not start them. */
  started(): { kafka: KafkaBroker; es: ElasticsearchNode };
}

/**
 * Registers `before`/`after` hooks in the calling `describe`: starts a Kafka broker and an
 * Elasticsearch node side by side when both are installed, keeps each as soon as it is up so that
 * `after` stops it even when the other failed.
 */
export function pipelineServices(present: boolean): PipelineServices {
  let kafka: KafkaBroker | undefined;
  let es: ElasticsearchNode | undefined;
  before(async () => {
    if (!present) return;
    await Promise.all([
      startKafka().then((k) => {
        kafka = k;
      }),
      startElasticsearch().then((e) => {
        es = e;
      }),
    ]);
  });
  after(async () => {
    await Promise.all([kafka?.destroy(), es?.stop()]);
  });
  return {
    started() {
      if (!kafka || !es) throw new Error("Kafka and Elasticsearch did not start");
      return { kafka, es };
    },
  };
}
