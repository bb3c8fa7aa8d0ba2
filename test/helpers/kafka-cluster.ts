import { execFile, spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { promisify } from "node:util";
import { tail, waitForPort } from "./kafka.js";
import { repoRoot } from "./paths.js";

const run = promisify(execFile);
const script = join(repoRoot, "scripts/kafka.sh");
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A partition as the cluster's metadata describes it (kcat -L -J). */
export interface PartitionState {
  partition: number;
  /** -1 while it has none. */
  leader: number;
  replicas: number[];
  isr: number[];
}

/** Three KRaft broker+controller nodes on loopback (scripts/kafka.sh cluster-start), ids 1-3. */
export interface KafkaCluster {
  /** "127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3" */
  brokers: string;
  dir: string;
  /** SIGKILL of node `id`: a crash, no controlled shutdown. */
  kill(id: number): Promise<void>;
  /** Starts node `id` again (same data and ports) and waits until the cluster lists it. */
  start(id: number): Promise<void>;
  /** Until the metadata lists all three brokers. */
  waitForAll(timeoutMs: number): Promise<void>;
  /** The partition's leader as `scripts/kafka.sh leader` reports it; undefined while leaderless. */
  leader(topic: string, partition: number): Promise<number | undefined>;
  /** The topic's partitions from the metadata (empty when the topic does not exist). */
  partitions(topic: string): PartitionState[];
  /** `kafka-topics.sh --describe` of the topic (its Configs line names the overrides). */
  describe(topic: string): Promise<string>;
  /** The group's total lag (log end minus committed, all partitions), undefined when unknown. */
  groupLag(group: string): Promise<number | undefined>;
  /** Stops every node and removes the data. */
  destroy(): Promise<void>;
}

/** One metadata request over kcat, JSON (-J); undefined when no broker answered. */
function metadata(brokers: string, topic?: string): KcatMetadata | undefined {
  const args = ["-b", brokers, "-L", "-J", "-m", "5", ...(topic ? ["-t", topic] : [])];
  const r = spawnSync("kcat", args, { encoding: "utf8" });
  if (r.status !== 0) return undefined;
  try {
    return JSON.parse(r.stdout) as KcatMetadata;
  } catch {
    return undefined;
  }
}

interface KcatMetadata {
  brokers: Array<{ id: number }>;
  topics: Array<{
    topic: string;
    error?: string;
    partitions?: Array<{
      partition: number;
      leader: number;
      replicas: { id: number }[];
      isrs: { id: number }[];
    }>;
  }>;
}

/**
 * A free loopback port below the kernel's ephemeral range. Ports from that range (what binding port
 * 0 gives) can be taken meanwhile as the local end of any outgoing connection, the nodes' own among
 * them: a broker binds its client port only once the controllers have unfenced it, and one that
 * lost its port that way stops. The nodes also re-bind theirs when restarted.
 */
async function freeStablePort(taken: Set<number>): Promise<number> {
  let low = 32768;
  try {
    low =
      Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]) || low;
  } catch {
    // not Linux: keep the usual default
  }
  const min = 10_000;
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = min + Math.floor(Math.random() * Math.max(1, low - min));
    if (taken.has(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once("error", () => resolve(false));
      srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
    });
    if (free) {
      taken.add(port);
      return port;
    }
  }
  throw new Error(`no free loopback port between ${min} and ${low}`);
}

export async function startKafkaCluster(): Promise<KafkaCluster> {
  await run("bash", [script, "fetch"], { maxBuffer: 1 << 24 });
  const dir = mkdtempSync(join(tmpdir(), "boxscope-test-kafka-cluster-"));
  const taken = new Set<number>();
  const ports: number[] = [];
  const cports: number[] = [];
  for (let i = 0; i < 3; i++) ports.push(await freeStablePort(taken));
  for (let i = 0; i < 3; i++) cports.push(await freeStablePort(taken));
  const brokers = ports.map((p) => `127.0.0.1:${p}`).join(",");
  const logs = () =>
    [1, 2, 3]
      .map((id) => `--- node-${id}/kafka.log ---\n${tail(join(dir, `node-${id}`, "kafka.log"))}`)
      .join("\n");

  /** Until the metadata lists every broker in `ids`. */
  const waitForBrokers = async (ids: number[], timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const md = metadata(brokers);
      const listed = new Set(md?.brokers.map((b) => b.id) ?? []);
      if (ids.every((id) => listed.has(id))) return;
      if (Date.now() > deadline)
        throw new Error(
          `Kafka cluster lists brokers ${[...listed]} after ${timeoutMs} ms, not ${ids}\n${logs()}`,
        );
      await sleep(300);
    }
  };

  const cluster: KafkaCluster = {
    brokers,
    dir,
    async kill(id) {
      await run("bash", [script, "node-kill", dir, String(id)]);
    },
    async start(id) {
      await run("bash", [script, "node-start", dir, String(id)]);
      await waitForPort(ports[id - 1] as number, 120_000);
      await waitForBrokers([id], 120_000);
    },
    waitForAll: (timeoutMs) => waitForBrokers([1, 2, 3], timeoutMs),
    async leader(topic, partition) {
      try {
        const { stdout } = await run("bash", [script, "leader", brokers, topic, String(partition)]);
        return Number(stdout.trim());
      } catch {
        return undefined;
      }
    },
    partitions(topic) {
      const t = metadata(brokers, topic)?.topics.find((x) => x.topic === topic);
      if (!t || t.error || !t.partitions) return [];
      return t.partitions.map((p) => ({
        partition: p.partition,
        leader: p.leader,
        replicas: p.replicas.map((r) => r.id),
        isr: p.isrs.map((r) => r.id),
      }));
    },
    async describe(topic) {
      const { stdout } = await run("bash", [
        script,
        "topics",
        "--bootstrap-server",
        brokers,
        "--describe",
        "--topic",
        topic,
      ]);
      return stdout;
    },
    async groupLag(group) {
      // Columns: GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID
      const r = await run("bash", [
        script,
        "groups",
        "--bootstrap-server",
        brokers,
        "--describe",
        "--group",
        group,
      ]).catch(() => undefined);
      if (!r) return undefined;
      let lag = 0;
      let rows = 0;
      for (const line of r.stdout.split("\n")) {
        const cols = line.trim().split(/\s+/);
        if (cols[0] !== group) continue;
        const n = Number(cols[5]);
        if (!Number.isInteger(n)) return undefined; // "-": nothing committed yet
        lag += n;
        rows++;
      }
      return rows > 0 ? lag : undefined;
    },
    async destroy() {
      await run("bash", [script, "cluster-stop", dir]).catch(() => undefined);
      if (process.env.BOXSCOPE_TEST_DEBUG)
        for (const id of [1, 2, 3])
          copyFileSync(
            join(dir, `node-${id}`, "kafka.log"),
            join(tmpdir(), `${basename(dir)}-node-${id}.log`),
          );
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await run("bash", [script, "cluster-start", dir, ports.join(","), cports.join(",")]);
    await waitForBrokers([1, 2, 3], 180_000);
  } catch (e) {
    await cluster.destroy();
    throw e;
  }
  return cluster;
}
