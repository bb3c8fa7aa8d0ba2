import { CompressionTypes, Kafka, type LogEntry, logLevel, Partitioners } from "kafkajs";
import type { Logger } from "../../common/logger.js";
import { decodeMessages } from "./encoded-batch.js";
import { registerLz4Codec } from "./lz4-codec.js";
import type {
  Compression,
  EncodedBatch,
  InBatch,
  InMessage,
  KafkaAdmin,
  KafkaClient,
  LogConsumer,
  LogProducer,
} from "./types.js";

export interface KafkajsOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
  /** Milliseconds to wait for a TCP connection to a broker. */
  connectionTimeoutMs?: number;
  /** Record batch compression of this client's producers (default none). */
  compression?: Compression;
}

/**
 * The kafkajs implementation of KafkaClient. kafkajs retries inside each call a few times; the
 * shipper and indexer retry forever above it, so the client's own retry budget stays small and an
 * outage surfaces as an error quickly enough to be logged and counted.
 */
export function createKafkajsClient(opts: KafkajsOptions): KafkaClient {
  const log = opts.logger.child({ component: "kafkajs" });
  // Consumers must read what `boxscope ship` produces: lz4 by default.
  registerLz4Codec();
  const kafka = new Kafka({
    clientId: opts.clientId,
    brokers: opts.brokers,
    connectionTimeout: opts.connectionTimeoutMs ?? 3000,
    requestTimeout: 30000,
    retry: { retries: 3, initialRetryTime: 300, maxRetryTime: 3000 },
    logLevel: logLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      const { message, ...rest } = entry.log;
      // kafkajs logs every failed connection attempt at ERROR; the callers log one clear line per
      // outage themselves, so the client's own chatter goes to debug.
      log.debug({ ...rest, namespace: entry.namespace }, message);
    },
  });
  return {
    producer: () => kafkajsProducer(kafka, CODECS[opts.compression ?? "none"]),
    consumer: (groupId) => kafkajsConsumer(kafka, groupId),
    admin: () => kafkajsAdmin(kafka),
  };
}

const CODECS: Record<Compression, CompressionTypes> = {
  none: CompressionTypes.None,
  lz4: CompressionTypes.LZ4,
  gzip: CompressionTypes.GZIP,
};

function kafkajsProducer(kafka: Kafka, compression: CompressionTypes): LogProducer {
  const producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: true,
    // Idempotence would need maxInFlightRequests=1 in kafkajs; duplicates after a retry are instead
    // absorbed downstream by the deterministic Elasticsearch _id, and several batches stay in flight.
    idempotent: false,
    retry: { retries: 3, initialRetryTime: 300, maxRetryTime: 3000 },
  });
  const send = async (topic: string, messages: { key: string | Buffer; value: string | Buffer }[]) => {
    await producer.send({ topic, messages, acks: -1, timeout: 30000, compression });
  };
  return {
    connect: () => producer.connect(),
    send,
    sendEncoded: (topic: string, batch: EncodedBatch) => send(topic, decodeMessages(batch)),
    disconnect: () => producer.disconnect(),
  };
}

function kafkajsConsumer(kafka: Kafka, groupId: string): LogConsumer {
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: 30000,
    heartbeatInterval: 3000,
    // Counted in bytes as stored, i.e. compressed: 1 MiB of the shipper's lz4 batches is ~12 MiB,
    // ~48 000 records, decoded in one piece before the first of them is handed over. At 4 MiB the
    // first fetch of a backlog held ~570 000 records and blocked the indexer for about a second.
    maxBytesPerPartition: 1024 * 1024,
    maxBytes: 8 * 1024 * 1024,
    // How long an idle fetch waits at the broker (default 5 s): a stop waits for the fetch in
    // progress, so with the default an idle indexer took ~5 s to leave on SIGTERM.
    maxWaitTimeInMs: 1000,
    retry: { retries: 5, initialRetryTime: 300, maxRetryTime: 5000 },
  });
  // Bumped on every join/sync of the group: work fetched under an older generation must not commit.
  let generation = 0;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    generation++;
  });
  return {
    connect: () => consumer.connect(),
    async run(topic, handler) {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 3,
        eachBatch: async ({
          batch,
          heartbeat,
          isRunning,
          isStale,
          resolveOffset,
          commitOffsetsIfNecessary,
        }) => {
          const lag = Number(batch.offsetLag());
          const inBatch: InBatch = {
            topic: batch.topic,
            partition: batch.partition,
            // kafkajs's own message objects already have this shape: no copy per message.
            messages: batch.messages as InMessage[],
            lag: Number.isFinite(lag) ? lag : 0,
          };
          await handler(inBatch, {
            generation,
            resolve: (offset) => resolveOffset(offset),
            heartbeat,
            isRunning: () => isRunning() && !isStale(),
            async commit(offset) {
              resolveOffset(offset);
              await commitOffsetsIfNecessary({
                topics: [
                  {
                    topic: batch.topic,
                    partitions: [{ partition: batch.partition, offset: nextOffset(offset) }],
                  },
                ],
              });
            },
          });
        },
      });
    },
    generation: () => generation,
    async commitOffset(topic, partition, offset, inGeneration) {
      if (inGeneration !== generation) return false;
      await consumer.commitOffsets([{ topic, partition, offset: nextOffset(offset) }]);
      return true;
    },
    onCrash(listener) {
      consumer.on(consumer.events.CRASH, (event) => listener(event.payload.error, event.payload.restart));
    },
    disconnect: () => consumer.disconnect(),
  };
}

/** Kafka commits the offset of the next message to read. */
function nextOffset(offset: string): string {
  return (BigInt(offset) + 1n).toString();
}

function kafkajsAdmin(kafka: Kafka): KafkaAdmin {
  return {
    async ensureTopic(topic, partitions) {
      const admin = kafka.admin();
      await admin.connect();
      try {
        const existing = await admin.listTopics();
        if (existing.includes(topic)) return false;
        return await admin.createTopics({
          topics: [{ topic, numPartitions: partitions }],
          waitForLeaders: true,
        });
      } finally {
        await admin.disconnect();
      }
    },
  };
}
