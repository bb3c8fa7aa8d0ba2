import { BoxscopeError } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import { encodeMessages } from "./encoded-batch.js";
import { NativeConsumer, partitionBatches } from "./native-consumer.js";
import { NativeProducer } from "./native-producer.js";
import type {
  BatchControl,
  Compression,
  EncodedBatch,
  InBatch,
  KafkaAdmin,
  KafkaClient,
  LogConsumer,
  LogProducer,
  OutMessage,
} from "./types.js";

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
  /** The producer's `enable.idempotence` (default true; see createRdkafkaClient). */
  idempotence?: boolean;
}

/**
 * KafkaClient over librdkafka (third_party/librdkafka), through boxscope's own binding
 * (native-producer.ts, native-consumer.ts): librdkafka batches, compresses, decodes and retries in
 * its own threads; JavaScript hands over and hears back a whole batch at a time.
 *
 * The producer is made for a replicated cluster (docs/pipeline.md, "On a Kafka cluster"):
 * - acks=all: a batch counts as sent only once every in-sync replica has it, so losing the leader
 *   right after an acknowledgement loses nothing (with the topic's min.insync.replicas ≥ 2, the
 *   cluster refuses writes it could not keep);
 * - idempotence (default on): librdkafka numbers each partition's batches, so a request retried
 *   after a leader change or a lost answer is written once and in order, with up to 5 requests in
 *   flight per connection. Off, one request is in flight at a time (a retry is never overtaken,
 *   so a container's lines keep their order) and a retried request may be written twice (the
 *   Elasticsearch document id makes that one document);
 * - each `send` resolves only when the brokers acknowledged every one of its messages, so
 *   positions still advance only after acknowledgement;
 * - the local queue is capped (messages and KiB) as a backstop; the shipper's in-flight batch bound
 *   (16 batches by default) stays the real limit, far below it.
 */
export function createRdkafkaClient(opts: RdkafkaOptions): RdkafkaClient {
  const log = opts.logger.child({ component: "rdkafka" });
  const common = {
    "client.id": opts.clientId,
    "metadata.broker.list": opts.brokers.join(","),
    "socket.connection.setup.timeout.ms": opts.connectionTimeoutMs ?? 3000,
    // Once the first metadata answer names the brokers, librdkafka drops the bootstrap connection
    // and holds the next connection back for half this backoff (default 100 ms), a visible part of
    // a short start. The backoff still doubles per failed attempt up to reconnect.backoff.max.ms
    // (10 s), so a down broker is not hammered.
    "reconnect.backoff.ms": 10,
    // Asking for a topic's metadata must never create it with the broker's defaults: the shipper
    // creates its topic with its own partition count (ensureTopic).
    "allow.auto.create.topics": false,
  };
  /** This client's connected producers: the admin asks one of them whether a topic exists. */
  const connectedProducers = new Set<NativeProducer>();
  return {
    producer: () => rdkafkaProducer(common, opts, log, connectedProducers),
    consumer: (groupId) => rdkafkaConsumer(common, opts, log, groupId),
    admin: () => rdkafkaAdmin(common, opts, connectedProducers),
  };
}

/** KafkaClient whose producers are RdkafkaProducers. */
export type RdkafkaClient = Omit<KafkaClient, "producer"> & { producer(): RdkafkaProducer };

/** A LogProducer over librdkafka; `raiseFatalError` is librdkafka's test hook, for tests only. */
export interface RdkafkaProducer extends LogProducer {
  raiseFatalError(reason: string): void;
}

function rdkafkaProducer(
  common: Record<string, string | number | boolean>,
  opts: RdkafkaOptions,
  log: Logger,
  connectedProducers: Set<NativeProducer>,
): RdkafkaProducer {
  const connectTimeout = opts.connectionTimeoutMs ?? 3000;
  const idempotence = opts.idempotence ?? true;
  const config = {
    ...common,
    acks: -1,
    "enable.idempotence": idempotence,
    "max.in.flight.requests.per.connection": idempotence ? 5 : 1,
    "message.timeout.ms": opts.messageTimeoutMs ?? 30000,
    "linger.ms": 5,
    "batch.num.messages": 10000,
    "queue.buffering.max.messages": 1000000,
    "queue.buffering.max.kbytes": 1024 * 1024,
    "compression.codec": opts.compression ?? "none",
    // librdkafka's own log lines (each failed reconnect) go to debug: callers log one line per outage.
    log_level: 6,
  };
  let connected = false;
  const create = (): NativeProducer => {
    const created: NativeProducer = new NativeProducer(config, {
      log: (severity, fac, message) => log.debug({ fac, severity }, message),
      error(code, fatal, reason) {
        // Every error but a fatal one is transient (librdkafka retries) and shows up as a failed
        // batch if it lasts. A fatal one (an idempotent producer whose sequence the cluster can no
        // longer vouch for) ends this librdkafka producer: a new one takes over, and the batches
        // the old one still held are rejected, so their owner sends them again.
        if (!fatal) return log.debug({ err: reason, code }, "librdkafka error event");
        if (producer !== created) return;
        log.error({ err: reason, code }, "Kafka producer failed for good; starting a new one");
        producer = create();
        if (connected) connectedProducers.add(producer);
        connectedProducers.delete(created);
        void created.close(0);
      },
    });
    return created;
  };
  let producer = create();
  return {
    async connect() {
      await producer.metadata(connectTimeout);
      connected = true;
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
    raiseFatalError(reason: string) {
      producer.raiseFatalError(reason);
    },
    async disconnect(flushTimeoutMs = 10000) {
      connected = false;
      connectedProducers.delete(producer);
      // Flushes what is queued (up to 10 s by default), then closes; its threads run from creation
      // on, so this is needed whether or not `connect` ever succeeded.
      await producer.close(flushTimeoutMs);
    },
  };
}

/** librdkafka's RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN. */
const ALL_BROKERS_DOWN = -187;

/** Messages per consume call: a few `_bulk` requests' worth, per the indexer's default chunk (5 000). */
const CONSUME_MAX_MESSAGES = 15000;

/**
 * The group consumer: librdkafka fetches, decompresses and prefetches (up to 32 MiB) in its own
 * threads and heartbeats from its own thread, so `heartbeat` has nothing to do. Offsets are never
 * committed or stored automatically: only `commit`/`commitOffset`, after Elasticsearch accepted
 * the records. `max.poll.interval.ms` is librdkafka's maximum (a day): while Elasticsearch is down
 * the batch handler waits (retrying) without consuming, and with the default 5 minutes librdkafka
 * would leave the group and hand the partitions to nobody; liveness is the process's (a crash leaves the group through the session timeout).
 */
function rdkafkaConsumer(
  common: Record<string, string | number | boolean>,
  opts: RdkafkaOptions,
  log: Logger,
  groupId: string,
): LogConsumer {
  let crashListener: (error: Error, restarting: boolean) => void = () => undefined;
  const consumer = new NativeConsumer(
    {
      ...common,
      "group.id": groupId,
      "enable.auto.commit": false,
      "enable.auto.offset.store": false,
      "auto.offset.reset": "earliest",
      "session.timeout.ms": 30000,
      "max.poll.interval.ms": 86400000,
      "queued.max.messages.kbytes": 32768,
      log_level: 6,
    },
    {
      log: (severity, fac, message) => log.debug({ fac, severity }, message),
      error(code, fatal, reason) {
        // librdkafka reconnects by itself, so an outage is one warning when the last broker
        // connection is lost (each failed reconnect is a debug line). Only a fatal error ends
        // the consumer.
        if (code === ALL_BROKERS_DOWN) log.warn({ err: reason }, "all Kafka brokers are down; reconnecting");
        else log.debug({ err: reason, code, fatal }, "librdkafka error event");
        if (fatal)
          crashListener(
            new BoxscopeError("BXS_KAFKA_FATAL", `librdkafka: ${reason}`, { context: { code } }),
            false,
          );
      },
      rebalance(generation, assigned, failure) {
        if (failure) log.error({ generation, err: failure }, "applying a partition assignment failed");
        else
          log.info(
            { generation, partitions: assigned },
            assigned > 0 ? "partitions assigned" : "partitions revoked",
          );
      },
    },
  );
  let stopping = false;
  let loop: Promise<void> = Promise.resolve();
  const commitOffset = async (topic: string, partition: number, offset: string, generation: number) => {
    if (generation !== consumer.generation()) return false;
    // Kafka commits the offset of the next record to read.
    await consumer.commit(topic, partition, Number(offset) + 1);
    return true;
  };
  const controlFor = (batch: InBatch, generation: number): BatchControl => ({
    generation,
    heartbeat: async () => undefined,
    isRunning: () => !stopping && consumer.generation() === generation,
    // librdkafka fetches ahead by itself: nothing to resolve.
    resolve: () => undefined,
    async commit(offset) {
      await commitOffset(batch.topic, batch.partition, offset, generation);
    },
  });
  return {
    connect: () => consumer.metadata(opts.connectionTimeoutMs ?? 3000),
    async run(topic, handler) {
      consumer.subscribe(topic);
      // Returns once consuming started; `disconnect` ends the loop.
      loop = (async () => {
        while (!stopping) {
          const consumed = await consumer.consume(CONSUME_MAX_MESSAGES, 500);
          for (const batch of partitionBatches(topic, consumed)) {
            if (stopping || consumed.generation !== consumer.generation()) break;
            await handler(batch, controlFor(batch, consumed.generation));
          }
        }
      })().catch((e: unknown) => {
        // A handler that throws is a bug, not an outage: the consumer gives up (the indexer exits
        // and is restarted; it re-reads from the committed offsets).
        stopping = true;
        crashListener(e instanceof Error ? e : new Error(String(e)), false);
      });
    },
    generation: () => consumer.generation(),
    commitOffset,
    onCrash(listener) {
      crashListener = listener;
    },
    async disconnect() {
      stopping = true;
      await loop;
      await consumer.close();
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
      // Usually the topic exists: one metadata request says so, over a connected producer's
      // connection when there is one.
      const [connected] = connectedProducers;
      const probe = connected ?? new NativeProducer(common, { log: () => undefined, error: () => undefined });
      try {
        if (await probe.metadata(timeoutMs, topic)) return false;
        return await probe.createTopic(topic, partitions, timeoutMs);
      } finally {
        if (!connected) void probe.close(0);
      }
    },
  };
}
