import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Admin, Kafka, logLevel } from "kafkajs";
import type { ElasticsearchNode } from "../../test/helpers/elasticsearch.js";

export { esCount } from "../../test/helpers/elasticsearch.js";

import { repoRoot } from "../../test/helpers/paths.js";

/** What every bench part gets: the generated files and the running broker and node. */
export interface BenchContext {
  root: string;
  /** The log root holding the generated container files. */
  logs: string;
  files: string[];
  bytes: number;
  lines: number;
  brokers: string;
  /** Started only when a selected part indexes (see run.ts). */
  es?: ElasticsearchNode;
}

export function elasticsearchOf(ctx: BenchContext): ElasticsearchNode {
  if (!ctx.es) throw new Error("this bench part needs Elasticsearch, which run.ts did not start");
  return ctx.es;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs `fn` with a connected kafkajs admin client, disconnected afterwards. */
async function withAdmin<T>(brokers: string, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Kafka({ brokers: [brokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

async function recordsIn(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic).catch(() => []);
  return offsets.reduce((sum, o) => sum + Number(o.high), 0);
}

/** Sum of the topic's high watermarks: records the broker holds. */
export function topicRecords(brokers: string, topic: string): Promise<number> {
  return withAdmin(brokers, (admin) => recordsIn(admin, topic));
}

/**
 * Creates 3-partition topics and waits until every partition has a leader. kafkajs's own
 * `waitForLeaders` gives up with "This server does not host this topic-partition" when a fresh
 * KRaft broker has not published the topic yet, so the wait is done here, retrying that too.
 */
export async function createTopics(brokers: string, topics: string[]): Promise<void> {
  await withAdmin(brokers, async (admin) => {
    await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: 3 })) });
    const deadline = Date.now() + 30000;
    for (;;) {
      const led = await admin
        .fetchTopicMetadata({ topics })
        .then((m) =>
          m.topics.every((t) => t.partitions.length === 3 && t.partitions.every((p) => p.leader >= 0)),
        )
        .catch(() => false);
      if (led) return;
      if (Date.now() > deadline) throw new Error(`topics ${topics.join(",")} got no leaders within 30 s`);
      await sleep(50);
    }
  });
}

/**
 * Polls (one admin connection for all polls, every 20 ms: a poll costs a few ms on loopback, and
 * a coarser step would add up to its length to whoever is still running when it is checked) until
 * the topic holds at least `n` records; returns the elapsed ms from `t0`.
 */
export function waitTopic(
  brokers: string,
  topic: string,
  n: number,
  t0: number,
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  return withAdmin(brokers, async (admin) => {
    for (;;) {
      if ((await recordsIn(admin, topic)) >= n) return Date.now() - t0;
      if (Date.now() > deadline) throw new Error(`topic ${topic} did not reach ${n} records`);
      await sleep(20);
    }
  });
}

/** Writes `lines` lines of ~`width` bytes over `files` files under <root>/<container>/app.log. */
export function generate(
  root: string,
  containers: number,
  lines: number,
): { files: string[]; bytes: number } {
  const files: string[] = [];
  let bytes = 0;
  const per = Math.ceil(lines / containers);
  for (let c = 0; c < containers; c++) {
    const dir = join(root, `c${c}`);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "app.log");
    const chunk: string[] = [];
    for (let i = 0; i < per && c * per + i < lines; i++) {
      chunk.push(
        `2026-11-25T12:00:00.000Z c${c} seq=${c * per + i} level=info msg="GET /api/v1/items 200" took_ms=${i % 997} user=u${i % 131}`,
      );
    }
    const text = `${chunk.join("\n")}\n`;
    writeFileSync(file, text);
    bytes += Buffer.byteLength(text);
    files.push(file);
  }
  return { files, bytes };
}

export function appendLines(file: string, from: number, n: number, tag: string): void {
  let text = "";
  for (let i = 0; i < n; i++) text += `${tag} seq=${from + i} msg="scenario line"\n`;
  appendFileSync(file, text);
}

export function boxscope(
  args: string[],
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
): ChildProcess {
  return spawn(process.execPath, [...nodeArgs, join(repoRoot, "bin/boxscope.js"), ...args], {
    env: { ...process.env, BOXSCOPE_LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "ignore", "inherit"],
  });
}

export async function killAndWait(p: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((r) => p.once("exit", r));
  p.kill(signal);
  await exited;
}

/** An rsyslogd of our own (foreground, own config, pid file and work dir) reading imfile → omkafka. */
export function rsyslog(dir: string, brokers: string, topic: string, glob: string): ChildProcess {
  mkdirSync(join(dir, "work"), { recursive: true });
  const conf = join(dir, "rsyslog.conf");
  writeFileSync(
    conf,
    `global(workDirectory="${join(dir, "work")}" maxMessageSize="64k")
module(load="imfile" mode="inotify")
module(load="omkafka")
template(name="raw" type="string" string="%msg%")
input(type="imfile" File="${glob}" Tag="app" reopenOnTruncate="on" freshStartTail="off" PersistStateInterval="1000")
action(type="omkafka" broker=["${brokers}"] topic="${topic}" template="raw" partitions.auto="on"
       confParam=["acks=all", "queue.buffering.max.ms=20", "batch.num.messages=10000"])
`,
  );
  return spawn("rsyslogd", ["-n", "-f", conf, "-i", join(dir, "rsyslogd.pid")], {
    stdio: ["ignore", "ignore", "inherit"],
  });
}

export function kcatProduce(
  brokers: string,
  topic: string,
  files: string[],
  compression = "none",
): ChildProcess {
  // kcat -P sends one message per stdin line (its `-l` takes a single file only).
  const script =
    'b="$1"; t="$2"; z="$3"; shift 3; cat "$@" | kcat -P -b "$b" -t "$t" -z "$z" -X acks=all -X queue.buffering.max.ms=20';
  return spawn("sh", ["-c", script, "kcat-bench", brokers, topic, compression, ...files], {
    stdio: ["ignore", "ignore", "inherit"],
  });
}

export const rate = (n: number, ms: number): number => Math.round((n / ms) * 1000);
export const mbps = (bytes: number, ms: number): number =>
  Math.round((bytes / 1048576 / ms) * 1000 * 10) / 10;
export { repoRoot };
