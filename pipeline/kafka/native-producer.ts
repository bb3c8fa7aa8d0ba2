import { BoxscopeError } from "../../common/errors.js";
import { loadNativeBinding } from "../native/binding.js";
import {
  kafkaRequestFailed,
  librdkafkaConfig,
  NativeEvent,
  type NativeEventListener,
} from "./native-events.js";
import type { EncodedBatch } from "./types.js";

/** pipeline/native/src/producer.c, as JavaScript sees it. */
export interface ProducerBinding {
  create(config: Record<string, string>, onEvent: NativeEventListener): unknown;
  produce(
    producer: unknown,
    topic: string,
    data: Buffer,
    ends: Uint32Array,
    keys: readonly Buffer[],
    keyEnds: Uint32Array,
    batchId: number,
  ): void;
  metadata(
    producer: unknown,
    topic: string | null,
    timeoutMs: number,
    done: (error: string | null, topicExists: boolean) => void,
  ): void;
  createTopic(
    producer: unknown,
    topic: string,
    partitions: number,
    timeoutMs: number,
    done: (error: string | null, code: number) => void,
  ): void;
  close(producer: unknown, flushTimeoutMs: number): void;
  raiseFatalError(producer: unknown, reason: string): void;
}

/** librdkafka's RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS. */
const TOPIC_ALREADY_EXISTS = 36;

export interface NativeProducerEvents {
  /** A librdkafka log line (syslog `level`: 7 debug … 3 error). */
  log(level: number, facility: string, message: string): void;
  /** An error librdkafka reported outside any one message; `fatal` ends the producer's use. */
  error(code: number, fatal: boolean, reason: string): void;
}

/** Loads the binding once; throws a BoxscopeError naming the fix when it was not built. */
export function loadBinding(): ProducerBinding {
  return loadNativeBinding<ProducerBinding>("boxscope_rdkafka");
}

interface Pending {
  resolve: () => void;
  reject: (e: Error) => void;
  /**
   * Held until the batch is reported: the binding keeps pointers into its buffers until its
   * enqueuer thread has handed them to librdkafka (which copies them), after produce() returned.
   * Unreferenced, a garbage collection in between freed them and a record went out as garbage.
   */
  batch: EncodedBatch;
}

/**
 * One librdkafka producer driven a batch at a time: `produce` hands a whole EncodedBatch to
 * librdkafka in one call and resolves when the brokers acknowledged every message of it, or
 * rejects with the first delivery error once every message was reported (see producer.c for why
 * a batch per call).
 */
export class NativeProducer {
  private readonly handle: unknown;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  private onClosed: (() => void) | undefined;

  constructor(
    config: Record<string, string | number | boolean>,
    private readonly events: NativeProducerEvents,
  ) {
    this.handle = loadBinding().create(librdkafkaConfig(config), (kind, a, b, text, facility) =>
      this.onEvent(kind, a, b, text, facility),
    );
  }

  /**
   * Resolves once a broker answered a metadata request within `timeoutMs`; with a `topic`, to
   * whether that topic exists (the producer never creates topics by asking: see rdkafka.ts).
   */
  metadata(timeoutMs: number, topic?: string): Promise<boolean> {
    return new Promise((resolve, reject) => {
      loadBinding().metadata(this.handle, topic ?? null, timeoutMs, (error, exists) =>
        error ? reject(kafkaRequestFailed("metadata", error)) : resolve(exists),
      );
    });
  }

  /**
   * Creates `topic` with `partitions` partitions and the cluster's default replication factor;
   * resolves true when this call created it, false when it existed already.
   */
  createTopic(topic: string, partitions: number, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve, reject) => {
      loadBinding().createTopic(this.handle, topic, partitions, timeoutMs, (error, code) => {
        if (!error) resolve(true);
        else if (code === TOPIC_ALREADY_EXISTS) resolve(false);
        else reject(kafkaRequestFailed("create topic", error));
      });
    });
  }

  /** Sends every message of `batch`; settles once librdkafka reported on all of them. */
  produce(topic: string, batch: EncodedBatch): Promise<void> {
    if (this.closed)
      return Promise.reject(new BoxscopeError("BXS_KAFKA_PRODUCER_CLOSED", "producer is closed"));
    const id = this.nextId++;
    const settled = new Promise<void>((resolve, reject) => this.pending.set(id, { resolve, reject, batch }));
    try {
      loadBinding().produce(this.handle, topic, batch.data, batch.ends, batch.keys, batch.keyEnds, id);
    } catch (e) {
      this.pending.delete(id);
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    return settled;
  }

  /** Makes librdkafka fail this producer for good (its test hook; for tests of the recovery). */
  raiseFatalError(reason: string): void {
    loadBinding().raiseFatalError(this.handle, reason);
  }

  /**
   * Waits up to `flushTimeoutMs` for what is queued, then closes; batches still unacknowledged
   * are rejected (they are sent again by whoever owns them, never lost).
   */
  close(flushTimeoutMs: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => {
      this.onClosed = resolve;
      loadBinding().close(this.handle, flushTimeoutMs);
    });
  }

  private onEvent(kind: number, a: number, b: number, text: string | null, facility: string | null): void {
    if (kind === NativeEvent.batchDone) {
      const p = this.pending.get(a);
      if (!p) return;
      this.pending.delete(a);
      if (b === 0) p.resolve();
      else
        p.reject(
          new BoxscopeError(
            "BXS_KAFKA_DELIVERY_FAILED",
            `delivery failed for ${b} message(s): ${text ?? "unknown error"}`,
            { context: { messages: b } },
          ),
        );
    } else if (kind === NativeEvent.log) this.events.log(a, facility ?? "", text ?? "");
    else if (kind === NativeEvent.error) this.events.error(a, b === 1, text ?? "");
    else if (kind === NativeEvent.closed) {
      // Every batch was reported before this event; anything left was never produced here.
      for (const p of this.pending.values())
        p.reject(
          new BoxscopeError(
            "BXS_KAFKA_PRODUCER_CLOSED",
            "producer closed before Kafka acknowledged the batch",
          ),
        );
      this.pending.clear();
      this.onClosed?.();
    }
  }
}
