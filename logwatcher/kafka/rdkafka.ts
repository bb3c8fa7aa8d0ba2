import rdkafka from "node-rdkafka";
import type { Logger } from "../../common/logger.js";
import { FlushAcks, type FlushResult } from "./flush-acks.js";
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

/** How long one flush call waits before it is repeated (the queue may still be draining). */
const FLUSH_SLICE_MS = 1000;

/**
 * librdkafka does the batching, retries and idempotent sequencing in its own threads, which is
 * what lifts the shipper past kafkajs's ~70k msg/s ceiling (docs/pipeline.md). Settings:
 * - `enable.idempotence` (acks=all, at most 5 requests in flight, retries keep order and never
 *   duplicate inside the producer session);
 * - each `send` resolves only when librdkafka's queue drained after it with no delivery error
 *   reported (FlushAcks: error reports only, success learnt from `flush`), so positions still
 *   advance only after acknowledgement;
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
  /** A producer with the acknowledgement tracking of its queue. */
  interface Tracked {
    p: rdkafka.Producer;
    acks: FlushAcks;
  }
  const make = (): Tracked => {
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
      "delivery.report.only.error": true,
    } as rdkafka.ProducerGlobalConfig);
    const acks = new FlushAcks((done) => flushOnce(p, done));
    p.on("event.log", (e: { severity: number; fac: string; message: string }) =>
      log.debug({ fac: e.fac, severity: e.severity }, e.message),
    );
    p.on("event.error", (e) => {
      // An idempotent producer that hit a fatal error (e.g. a sequence it cannot repair) fails
      // every later message; it is replaced by a fresh one before the next send.
      if (e.isFatal || e.code === rdkafka.CODES.ERRORS.ERR__FATAL) {
        if (p === current.p) fatal = true;
        log.warn({ err: e.message }, "librdkafka producer hit a fatal error; it will be replaced");
      } else log.debug({ err: e.message }, "librdkafka error event");
    });
    p.on("delivery-report", (err) => {
      if (err) acks.deliveryFailed(new Error(`delivery failed: ${err.message}`));
    });
    return { p, acks };
  };
  const connectOne = (p: rdkafka.Producer) =>
    new Promise<void>((resolve, reject) => {
      p.connect({ timeout: connectTimeout }, (err) => {
        if (err) return reject(new Error(err.message));
        // Error reports and events reach JavaScript only when polled (flush polls too).
        p.setPollInterval(20);
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
  const ready = async (): Promise<Tracked> => {
    if (fatal) {
      const old = current;
      current = make();
      fatal = false;
      connected = false;
      void close(old.p);
      try {
        await connectOne(current.p);
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
      await connectOne(current.p);
      connected = true;
    },
    async send(topic: string, messages: OutMessage[]): Promise<void> {
      const { p: producer, acks } = await ready();
      const now = Date.now();
      for (const m of messages) producer.produce(topic, null, Buffer.from(m.value), m.key, now);
      await acks.wait();
    },
    async sendEncoded(topic: string, batch: EncodedBatch): Promise<void> {
      const { p: producer, acks } = await ready();
      const now = Date.now();
      const { data, ends, keys } = batch;
      // librdkafka copies each value (RD_KAFKA_MSG_F_COPY in node-rdkafka's produce), so a
      // subarray of the batch buffer is all a message costs here.
      // A throw (local queue full, not connected) fails the send at once; what was already
      // queued may still be delivered: the send is retried whole, duplicates are absorbed downstream.
      for (let i = 0; i < ends.length; i++)
        producer.produce(topic, null, data.subarray(i === 0 ? 0 : ends[i - 1], ends[i]), keys[i], now);
      await acks.wait();
    },
    async disconnect() {
      if (!connected) return;
      connected = false;
      await close(current.p);
    },
  };
}

/** One flush of the producer's queue (in node-rdkafka's worker thread), as a FlushResult. */
function flushOnce(p: rdkafka.Producer, done: (result: FlushResult) => void): void {
  try {
    p.flush(FLUSH_SLICE_MS, (err) => {
      if (!err) done("drained");
      // node-rdkafka's flush worker reports errors by message only ("Local: Timed out" arrives as
      // code -1, message "timed out").
      else if (err.code === rdkafka.CODES.ERRORS.ERR__TIMED_OUT || /timed out/i.test(err.message))
        done("timeout");
      else done(new Error(`flush failed: ${err.message}`));
    });
  } catch (e) {
    // Not connected any more (replaced after a fatal error, or disconnected).
    done(e instanceof Error ? e : new Error(String(e)));
  }
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
