import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Kafka, logLevel } from "kafkajs";
import { repoRoot } from "./paths.js";
import { freePort } from "./prometheus.js";

const run = promisify(execFile);

/** Java and Maven (to fetch the jars once into the cache) are what a real broker needs here. */
export function kafkaPrereq(): { present: boolean; why: string } {
  const java = spawnSync("java", ["-version"]).status === 0;
  const mvn = spawnSync("mvn", ["-v"]).status === 0;
  return {
    present: java && mvn,
    why: `Kafka needs Java 17 (${java ? "ok" : "missing"}) and Maven (${mvn ? "ok" : "missing"})`,
  };
}

/** Kept here too for the pipeline tests that import it with the Kafka helpers. */
export { freePort } from "./prometheus.js";

export async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host: "127.0.0.1", port }, () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface KafkaBroker {
  /** "127.0.0.1:PORT" */
  brokers: string;
  dir: string;
  /** SIGTERM (controlled shutdown); data and ports are kept for `start`. */
  stop(): Promise<void>;
  /** Starts the same broker again (same data dir and ports) and waits until it serves metadata. */
  start(): Promise<void>;
  /** Stops for good and removes the data dir. */
  destroy(): Promise<void>;
}

const script = join(repoRoot, "scripts/kafka.sh");

/** One real KRaft broker+controller on loopback, from Maven Central jars (scripts/kafka.sh). */
export async function startKafka(): Promise<KafkaBroker> {
  await run("bash", [script, "fetch"], { maxBuffer: 1 << 24 });
  const dir = mkdtempSync(join(tmpdir(), "boxscope-test-kafka-"));
  const port = await freePort();
  const cport = await freePort();
  const broker: KafkaBroker = {
    brokers: `127.0.0.1:${port}`,
    dir,
    async start() {
      await run("bash", [script, "start", dir, String(port), String(cport)]);
      try {
        await waitForPort(port, 60000);
        await waitForMetadata(`127.0.0.1:${port}`, 60000);
      } catch (e) {
        throw new Error(`${(e as Error).message}\n--- kafka.log ---\n${tail(join(dir, "kafka.log"))}`);
      }
    },
    async stop() {
      await run("bash", [script, "stop", dir]);
    },
    async destroy() {
      await run("bash", [script, "stop", dir]).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await broker.start();
  return broker;
}

/**
 * Every record's value in a topic, from the beginning to the current end (kcat, one per line); none
 * while the topic does not exist yet (the shipper creates it on its first connection).
 */
export function topicValues(brokers: string, topic: string): string[] {
  const r = spawnSync("kcat", ["-C", "-b", brokers, "-t", topic, "-e", "-q", "-o", "beginning"], {
    encoding: "utf8",
    maxBuffer: 1 << 28,
  });
  if (r.status !== 0 && /Unknown topic or partition/.test(r.stderr)) return [];
  if (r.error || r.status !== 0) throw new Error(`kcat -C ${topic}: ${r.error?.message ?? r.stderr}`);
  return r.stdout.split("\n").filter((l) => l !== "");
}

/** Records in a topic (the sum of its partitions' end offsets), asked with kafkajs's admin client. */
export async function topicCount(brokers: string, topic: string): Promise<number> {
  const admin = new Kafka({ brokers: [brokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, o) => sum + Number(o.high), 0);
  } finally {
    await admin.disconnect();
  }
}

/** kcat lists the broker once it has joined its own quorum and serves metadata. */
async function waitForMetadata(brokers: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = spawnSync("kcat", ["-b", brokers, "-L", "-m", "3"], { encoding: "utf8" });
    if (r.status === 0 && /1 brokers:/.test(r.stdout)) return;
    if (r.error) {
      // No kcat: the port is open, give the controller a moment instead.
      await new Promise((res) => setTimeout(res, 3000));
      return;
    }
    if (Date.now() > deadline)
      throw new Error(`Kafka at ${brokers} serves no metadata after ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, 300));
  }
}

export function tail(path: string, lines = 30): string {
  try {
    return readFileSync(path, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}
