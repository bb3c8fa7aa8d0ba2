/**
 * The one small surface the shipper and indexer use from a Kafka client (rdkafka.ts implements it
 * over librdkafka). Tests hand the shipper and the indexer fakes of it.
 */
export interface OutMessage {
  /** Partitioning key: the container id, so one container's lines stay ordered. */
  key: string;
  value: string;
}

/** Record batch compression of a producer (Kafka's codec names; consumers read all three). */
export type Compression = "none" | "lz4" | "gzip";

/**
 * Many messages built in one buffer (the shipper's record batches): value i is
 * `data[ends[i - 1] ?? 0, ends[i])`; keys come in runs: values `[keyEnds[j - 1] ?? 0, keyEnds[j])`
 * have key `keys[j]` (a file's records share their container's key). Typed arrays, so a native
 * producer reads a whole batch in a few calls (encoded-batch.ts builds and walks them). The
 * producer copies what it needs before `sendEncoded`'s promise settles; the caller keeps the batch
 * unchanged until then (a failed batch is sent again as it is).
 */
export interface EncodedBatch {
  readonly data: Buffer;
  readonly ends: Uint32Array;
  readonly keys: readonly Buffer[];
  readonly keyEnds: Uint32Array;
}

export interface LogProducer {
  /** Resolves once the brokers are reachable; rejects with the client's error otherwise. */
  connect(): Promise<void>;
  /** Resolves only when every message is acknowledged by all in-sync replicas (acks=-1). */
  send(topic: string, messages: OutMessage[]): Promise<void>;
  /** `send` for a batch built in one buffer; the same acknowledgement guarantee. */
  sendEncoded(topic: string, batch: EncodedBatch): Promise<void>;
  /**
   * Closes the client. What is queued may still go out for `flushTimeoutMs` (librdkafka; default
   * 10 s); sends unacknowledged after that reject.
   */
  disconnect(flushTimeoutMs?: number): Promise<void>;
}

export interface InMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
}

export interface InBatch {
  topic: string;
  partition: number;
  messages: InMessage[];
  /** Messages left in the partition after this batch (high watermark − 1 − last offset). */
  lag: number;
}

export interface BatchControl {
  /** Keeps the group membership alive during long retries. */
  heartbeat(): Promise<void>;
  /** False once the consumer is stopping or the partition was revoked. */
  isRunning(): boolean;
  /** Marks every message up to and including `offset` done and commits it. */
  commit(offset: string): Promise<void>;
  /**
   * Lets the consumer fetch past `offset` without committing it: the handler may return while the
   * work on its records goes on, and commits later through `LogConsumer.commitOffset`.
   */
  resolve(offset: string): void;
  /** The group generation (assignment) this batch was fetched in; see `LogConsumer.generation`. */
  readonly generation: number;
}

export interface LogConsumer {
  connect(): Promise<void>;
  /** Runs the handler for each fetched batch; offsets are committed only through `commit`. */
  run(topic: string, handler: (batch: InBatch, control: BatchControl) => Promise<void>): Promise<void>;
  /**
   * The current group generation: it changes on every (re)join, after which partitions may belong
   * to another member and records fetched before are fetched again from the committed offsets.
   */
  generation(): number;
  /**
   * Commits every message of the partition up to and including `offset`, outside a batch handler,
   * if the member is still in `generation`; resolves false (nothing committed) when it is not.
   */
  commitOffset(topic: string, partition: number, offset: string, generation: number): Promise<boolean>;
  /** Called when the consumer crashed; `restarting` false means it gave up for good. */
  onCrash(listener: (error: Error, restarting: boolean) => void): void;
  disconnect(): Promise<void>;
}

export interface KafkaAdmin {
  /** Creates the topic if it is missing; resolves true when it was created. */
  ensureTopic(topic: string, partitions: number): Promise<boolean>;
}

export interface KafkaClient {
  producer(): LogProducer;
  consumer(groupId: string): LogConsumer;
  admin(): KafkaAdmin;
}
