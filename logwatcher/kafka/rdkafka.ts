import rdkafka from "node-rdkafka";
import type { Logger } from "../../common/logger.js";
import type { EncodedBatch, KafkaAdmin, LogProducer, OutMessage } from "./types.js";

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
}

/** The producing side of KafkaClient over librdkafka (node-rdkafka); consuming stays on kafkajs. */
export interface RdkafkaProducerClient {
  producer(): LogProducer;
  admin(): KafkaAdmin;
}

/** One `send` call: settles when librdkafka delivered (or gave up on) every message of it. */
interface PendingBatch {
  remaining: number;
  error: Error | undefined;
  resolve: () => void;
  reject: (e: Error) => void;
}

/**
 * librdkafka does the batching, retries and idempotent sequencing in its own threads, which is
 * what lifts the shipper past kafkajs's ~70k msg/s ceiling (docs/pipeline.md). Settings:
 * - `enable.idempotence` (acks=all, at most 5 requests in flight, retries keep order and never
 *   duplicate inside the producer session);
 * - each `send` resolves only when the delivery report of every message arrived without error, so
 *   positions still advance only after acknowledgement;
 * - the local queue is capped (messages and KiB) as a backstop; the shipper's in-flight batch bound
 *   stays the real limit.
 */
export function createRdkafkaClient(opts: RdkafkaOptions): RdkafkaProducerClient {
  const log = opts.logger.child({ component: "rdkafka" });
  const common = {
    "client.id": opts.clientId,
    "metadata.broker.list": opts.brokers.join(","),
    "socket.connection.setup.timeout.ms": opts.connectionTimeoutMs ?? 3000,
    // librdkafka's own log lines (each failed reconnect) go to debug: callers log one line per outage.
    event_cb: true,
    log_level: 6,
  };
  return {
    producer: () => rdkafkaProducer(common, opts, log),
    admin: () => rdkafkaAdmin(common, opts),
  };
}

function rdkafkaProducer(
  common: Record<string, string | number | boolean>,
  opts: RdkafkaOptions,
  log: Logger,
): LogProducer {
  const connectTimeout = opts.connectionTimeoutMs ?? 3000;
  const make = (): rdkafka.Producer => {
    const p = new rdkafka.Producer({
      ...common,
      "enable.idempotence": true,
      acks: -1,
      "message.timeout.ms": opts.messageTimeoutMs ?? 30000,
      "linger.ms": 5,
      "batch.num.messages": 10000,
      "queue.buffering.max.messages": 100000,
      "queue.buffering.max.kbytes": 64 * 1024,
      "compression.codec": "none",
      dr_cb: true,
    } as rdkafka.ProducerGlobalConfig);
    p.on("event.log", (e: { severity: number; fac: string; message: string }) =>
      log.debug({ fac: e.fac, severity: e.severity }, e.message),
    );
    p.on("event.error", (e) => {
      // An idempotent producer that hit a fatal error (e.g. a sequence it cannot repair) fails
      // every later message; it is replaced by a fresh one before the next send.
      if (e.isFatal || e.code === rdkafka.CODES.ERRORS.ERR__FATAL) {
        if (p === current) fatal = true;
        log.warn({ err: e.message }, "librdkafka producer hit a fatal error; it will be replaced");
      } else log.debug({ err: e.message }, "librdkafka error event");
    });
    p.on("delivery-report", (err, report) => {
      const pending = report.opaque as PendingBatch;
      if (err && !pending.error) pending.error = new Error(`delivery failed: ${err.message}`);
      pending.remaining -= 1;
      if (pending.remaining === 0) settle(pending);
    });
    return p;
  };
  const connectOne = (p: rdkafka.Producer) =>
    new Promise<void>((resolve, reject) => {
      p.connect({ timeout: connectTimeout }, (err) => {
        if (err) return reject(new Error(err.message));
        // Delivery reports are handed to JavaScript only when polled.
        p.setPollInterval(5);
        resolve();
      });
    });
  const close = (p: rdkafka.Producer) =>
    new Promise<void>((resolve) => {
      p.setPollInterval(0);
      // Flushes what is queued (up to 10 s), then closes.
      p.disconnect(10000, () => resolve());
    });

  let current = make();
  let connected = false;
  let fatal = false;
  /** The producer to send with: a fresh one replaces one that hit a fatal error. */
  const ready = async (): Promise<rdkafka.Producer> => {
    if (fatal) {
      const old = current;
      current = make();
      fatal = false;
      connected = false;
      void close(old);
      try {
        await connectOne(current);
      } catch (e) {
        fatal = true; // not connected yet: the next send tries again with another fresh one
        throw e;
      }
      connected = true;
    }
    return current;
  };
  return {
    async connect() {
      await connectOne(current);
      connected = true;
    },
    async send(topic: string, messages: OutMessage[]): Promise<void> {
      const producer = await ready();
      const now = Date.now();
      await produceAll(messages.length, (i, pending) => {
        const m = messages[i] as OutMessage;
        producer.produce(topic, null, Buffer.from(m.value), m.key, now, pending);
      });
    },
    async sendEncoded(topic: string, batch: EncodedBatch): Promise<void> {
      const producer = await ready();
      const now = Date.now();
      const { data, ends, keys } = batch;
      // librdkafka copies each value (RD_KAFKA_MSG_F_COPY in node-rdkafka's produce), so a
      // subarray of the batch buffer is all a message costs here.
      await produceAll(ends.length, (i, pending) => {
        producer.produce(
          topic,
          null,
          data.subarray(i === 0 ? 0 : ends[i - 1], ends[i]),
          keys[i],
          now,
          pending,
        );
      });
    },
    async disconnect() {
      if (!connected) return;
      connected = false;
      await close(current);
    },
  };
}

/**
 * Hands `count` messages to librdkafka (`produceOne(i, pending)`) and settles once every one of
 * them has its delivery report: all share one pending object, so the delivery-report handler only
 * counts down. One opaque per message is node-rdkafka's only way to tell reports apart.
 */
function produceAll(count: number, produceOne: (i: number, pending: PendingBatch) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (count === 0) return resolve();
    const pending: PendingBatch = { remaining: count, error: undefined, resolve, reject };
    for (let i = 0; i < count; i++) {
      try {
        produceOne(i, pending);
      } catch (e) {
        // Local queue full or not connected: the messages not handed over are counted done;
        // the batch fails once the ones already queued report back, and is sent again whole.
        pending.error ??= e instanceof Error ? e : new Error(String(e));
        pending.remaining -= count - i;
        if (pending.remaining === 0) settle(pending);
        return;
      }
    }
  });
}

function settle(p: PendingBatch): void {
  if (p.error) p.reject(p.error);
  else p.resolve();
}

function rdkafkaAdmin(common: Record<string, string | number | boolean>, opts: RdkafkaOptions): KafkaAdmin {
  return {
    ensureTopic(topic, partitions) {
      const { event_cb: _e, log_level: _l, ...conf } = common;
      const admin = rdkafka.AdminClient.create(conf as rdkafka.GlobalConfig);
      return new Promise<boolean>((resolve, reject) => {
        admin.createTopic(
          { topic, num_partitions: partitions, replication_factor: -1 },
          opts.connectionTimeoutMs ?? 10000,
          (err) => {
            admin.disconnect();
            if (!err) return resolve(true);
            if (err.code === rdkafka.CODES.ERRORS.ERR_TOPIC_ALREADY_EXISTS) return resolve(false);
            reject(new Error(err.message));
          },
        );
      });
    },
  };
}
