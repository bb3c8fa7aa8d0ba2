import type { Logger } from "../../common/logger.js";
import { encodeMessages } from "./encoded-batch.js";
import { NativeProducer } from "./native-producer.js";
import type { Compression, EncodedBatch, KafkaAdmin, LogProducer, OutMessage } from "./types.js";

export interface RdkafkaOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
  /** Milliseconds `connect` waits for the brokers' metadata. */
  connectionTimeoutMs?: number;
  /**
   * How long librdkafka keeps retrying one message before reporting it failed; the shipper then
   * logs, counts a retry and sends the batch again, so an outage is visible without losing anything.
   */
  messageTimeoutMs?: number;
  /** Record batch compression (default none). */
  compression?: Compression;
}

/** The producing side of KafkaClient over librdkafka; consuming stays on kafkajs. */
export interface RdkafkaProducerClient {
  producer(): LogProducer;
  admin(): KafkaAdmin;
}

/**
 * librdkafka does the batching and retries in its own threads, which is
 * what lifts the shipper past kafkajs's ~70k msg/s ceiling (docs/pipeline.md); the shipper's own
 * binding (native-producer.ts) hands it a whole batch per call and counts its delivery reports in C.
 * Settings:
 * - acks=all, and one request in flight per broker connection: a retried request is never
 *   overtaken by a later one, so a container's lines keep their order in their partition. Not
 *   `enable.idempotence`: in librdkafka 2.12 it makes each broker thread spin in poll() while
 *   requests are in flight (50× the poll calls, ~2× the producer's CPU, measured in
 *   docs/benchmarks.md), and what it adds (no duplicate when a request is retried after its answer
 *   was lost) the pipeline already absorbs: it is at-least-once into Kafka, and the Elasticsearch
 *   document id makes a duplicate one document;
 * - each `send` resolves only when the brokers acknowledged every one of its messages, so
 *   positions still advance only after acknowledgement;
 * - the local queue is capped (messages and KiB) as a backstop; the shipper's in-flight batch bound
 *   (16 batches by default) stays the real limit, far below it.
 */
export function createRdkafkaClient(opts: RdkafkaOptions): RdkafkaProducerClient {
  const log = opts.logger.child({ component: "rdkafka" });
  const common = {
    "client.id": opts.clientId,
    "metadata.broker.list": opts.brokers.join(","),
    "socket.connection.setup.timeout.ms": opts.connectionTimeoutMs ?? 3000,
    // Once the first metadata answer names the brokers, librdkafka drops the bootstrap connection
    // and holds the next connection back for half this backoff (default 100 ms): 54 ms of every
    // start measured before the first send, 14 ms with 10. The backoff still doubles per failed
    // attempt up to reconnect.backoff.max.ms (10 s), so a down broker is not hammered.
    "reconnect.backoff.ms": 10,
    // Asking for a topic's metadata must never create it with the broker's defaults: the shipper
    // creates its topic with its own partition count (ensureTopic).
    "allow.auto.create.topics": false,
  };
  /** This client's connected producers: the admin asks one of them whether a topic exists. */
  const connectedProducers = new Set<NativeProducer>();
  return {
    producer: () => rdkafkaProducer(common, opts, log, connectedProducers),
    admin: () => rdkafkaAdmin(common, opts, connectedProducers),
  };
}

function rdkafkaProducer(
  common: Record<string, string | number | boolean>,
  opts: RdkafkaOptions,
  log: Logger,
  connectedProducers: Set<NativeProducer>,
): LogProducer {
  const connectTimeout = opts.connectionTimeoutMs ?? 3000;
  const producer = new NativeProducer(
    {
      ...common,
      acks: -1,
      "max.in.flight.requests.per.connection": 1,
      "message.timeout.ms": opts.messageTimeoutMs ?? 30000,
      "linger.ms": 5,
      "batch.num.messages": 10000,
      "queue.buffering.max.messages": 1000000,
      "queue.buffering.max.kbytes": 1024 * 1024,
      "compression.codec": opts.compression ?? "none",
      // librdkafka's own log lines (each failed reconnect) go to debug: callers log one line per outage.
      log_level: 6,
    },
    {
      log: (severity, fac, message) => log.debug({ fac, severity }, message),
      // Fatal errors belong to idempotent and transactional producers, which this is not; every
      // other error is transient (librdkafka retries) and shows up as a failed batch if it lasts.
      error: (code, fatal, reason) => log.debug({ err: reason, code, fatal }, "librdkafka error event"),
    },
  );
  return {
    async connect() {
      await producer.metadata(connectTimeout);
      connectedProducers.add(producer);
    },
    async send(topic: string, messages: OutMessage[]): Promise<void> {
      await producer.produce(topic, encodeMessages(messages));
    },
    async sendEncoded(topic: string, batch: EncodedBatch): Promise<void> {
      // librdkafka copies each value and key before produce returns; a failed batch is retried
      // whole by the caller (what was delivered of it comes twice; the document id absorbs that).
      await producer.produce(topic, batch);
    },
    async disconnect() {
      connectedProducers.delete(producer);
      // Flushes what is queued (up to 10 s), then closes; its threads run from creation on, so
      // this is needed whether or not `connect` ever succeeded.
      await producer.close(10000);
    },
  };
}

function rdkafkaAdmin(
  common: Record<string, string | number | boolean>,
  opts: RdkafkaOptions,
  connectedProducers: ReadonlySet<NativeProducer>,
): KafkaAdmin {
  const timeoutMs = opts.connectionTimeoutMs ?? 10000;
  return {
    async ensureTopic(topic, partitions) {
      // Usually the topic exists: one metadata request says so (over a connected producer's
      // connection when there is one), without loading node-rdkafka's admin client (~150 ms
      // before the first send otherwise).
      const [connected] = connectedProducers;
      const probe = connected ?? new NativeProducer(common, { log: () => undefined, error: () => undefined });
      try {
        if (await probe.metadata(timeoutMs, topic)) return false;
      } finally {
        if (!connected) void probe.close(0);
      }
      const { default: rdkafka } = await import("node-rdkafka");
      const admin = rdkafka.AdminClient.create(common as import("node-rdkafka").GlobalConfig);
      return new Promise<boolean>((resolve, reject) => {
        admin.createTopic({ topic, num_partitions: partitions, replication_factor: -1 }, timeoutMs, (err) => {
          admin.disconnect();
          if (!err) return resolve(true);
          if (err.code === rdkafka.CODES.ERRORS.ERR_TOPIC_ALREADY_EXISTS) return resolve(false);
          reject(new Error(err.message));
        });
      });
    },
  };
}
