import { loadNativeBinding } from "../native/binding.js";
import {
  kafkaRequestFailed,
  librdkafkaConfig,
  NativeEvent,
  type NativeEventListener,
} from "./native-events.js";
import type { InBatch, InMessage } from "./types.js";

/** pipeline/native/src/consumer.c, as JavaScript sees it. */
export interface ConsumerBinding {
  createConsumer(config: Record<string, string>, onEvent: NativeEventListener): unknown;
  subscribe(consumer: unknown, topic: string): void;
  consume(
    consumer: unknown,
    maxMessages: number,
    timeoutMs: number,
    done: (error: string | null, generation: number, data: Buffer, meta: Float64Array) => void,
  ): void;
  generation(consumer: unknown): number;
  commit(
    consumer: unknown,
    topic: string,
    partition: number,
    nextOffset: number,
    done: (error: string | null) => void,
  ): void;
  consumerMetadata(consumer: unknown, timeoutMs: number, done: (error: string | null) => void): void;
  closeConsumer(consumer: unknown, done: (error: string | null) => void): void;
}

/** Numbers per message in a consumed batch's `meta` (consumer.c). */
const META_FIELDS = 5;

export interface NativeConsumerEvents {
  /** A librdkafka log line (syslog `level`: 7 debug … 3 error). */
  log(level: number, facility: string, message: string): void;
  /** An error librdkafka reported (it keeps retrying); `fatal` ends the consumer's use. */
  error(code: number, fatal: boolean, reason: string): void;
  /** Partitions were assigned (`assigned` > 0) or revoked; `failure` if applying that failed. */
  rebalance(generation: number, assigned: number, failure: string | null): void;
}

/** What one `consume` call returned: messages of one group generation, in one buffer. */
export interface ConsumedBatch {
  generation: number;
  /** Each message's key bytes then value bytes, back to back. */
  data: Buffer;
  /** Per message: partition, offset, key length (-1: null), value length (-1: null), high watermark. */
  meta: Float64Array;
}

function binding(): ConsumerBinding {
  return loadNativeBinding<ConsumerBinding>("boxscope_rdkafka");
}

/**
 * One librdkafka group consumer taken a batch at a time (see consumer.c for why a batch per
 * call). Offsets are committed only through `commit`.
 */
export class NativeConsumer {
  private readonly handle: unknown;
  private closed = false;

  constructor(config: Record<string, string | number | boolean>, events: NativeConsumerEvents) {
    this.handle = binding().createConsumer(librdkafkaConfig(config), (kind, a, b, text, facility) => {
      if (kind === NativeEvent.log) events.log(a, facility ?? "", text ?? "");
      else if (kind === NativeEvent.error) events.error(a, b === 1, text ?? "");
      else if (kind === NativeEvent.rebalance) events.rebalance(a, b, text);
    });
  }

  /** Resolves once a broker answered a metadata request within `timeoutMs`. */
  metadata(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) =>
      binding().consumerMetadata(this.handle, timeoutMs, (error) =>
        error ? reject(kafkaRequestFailed("metadata", error)) : resolve(),
      ),
    );
  }

  subscribe(topic: string): void {
    binding().subscribe(this.handle, topic);
  }

  /** Waits up to `timeoutMs` for a message, then returns what is fetched (at most `maxMessages`). */
  consume(maxMessages: number, timeoutMs: number): Promise<ConsumedBatch> {
    return new Promise((resolve, reject) =>
      binding().consume(this.handle, maxMessages, timeoutMs, (error, generation, data, meta) =>
        error ? reject(kafkaRequestFailed("fetch", error)) : resolve({ generation, data, meta }),
      ),
    );
  }

  /** Bumped on every assignment and revocation. */
  generation(): number {
    return binding().generation(this.handle);
  }

  /** Commits `nextOffset` (the next record to read) for the partition; resolves once the broker did. */
  commit(topic: string, partition: number, nextOffset: number): Promise<void> {
    return new Promise((resolve, reject) =>
      binding().commit(this.handle, topic, partition, nextOffset, (error) =>
        error ? reject(kafkaRequestFailed("commit", `offset commit failed: ${error}`)) : resolve(),
      ),
    );
  }

  /** Leaves the group and stops librdkafka's threads; no `consume` may be in progress. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => binding().closeConsumer(this.handle, () => resolve()));
  }
}

/**
 * Splits a consumed batch into one InBatch per partition, in the order each partition first
 * appears; each keeps its messages' order. Keys and values are views into `data`, not copies.
 */
export function partitionBatches(topic: string, batch: ConsumedBatch): InBatch[] {
  const { data, meta } = batch;
  const byPartition = new Map<number, { messages: InMessage[]; high: number }>();
  let at = 0;
  for (let i = 0; i < meta.length; i += META_FIELDS) {
    const partition = meta[i] as number;
    const keyLength = meta[i + 2] as number;
    const valueLength = meta[i + 3] as number;
    const key = keyLength < 0 ? null : data.subarray(at, at + keyLength);
    at += Math.max(0, keyLength);
    const value = valueLength < 0 ? null : data.subarray(at, at + valueLength);
    at += Math.max(0, valueLength);
    let run = byPartition.get(partition);
    if (!run) {
      run = { messages: [], high: 0 };
      byPartition.set(partition, run);
    }
    run.messages.push({ offset: String(meta[i + 1]), key, value });
    run.high = meta[i + 4] as number;
  }
  return [...byPartition].map(([partition, { messages, high }]) => {
    const last = Number((messages[messages.length - 1] as InMessage).offset);
    return { topic, partition, messages, lag: Math.max(0, high - 1 - last) };
  });
}
