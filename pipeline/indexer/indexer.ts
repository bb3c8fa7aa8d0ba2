import type { Registry } from "prom-client";
import { BoxscopeError } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import type { RunningService } from "../../common/service.js";
import { backoffMs, errorText, Sleeper } from "../kafka/backoff.js";
import type {
  BatchControl,
  InBatch,
  InMessage,
  KafkaClient,
  LogConsumer,
  LogProducer,
} from "../kafka/types.js";
import { bulkBody, classifyItem } from "./bulk.js";
import { type ChunkTicket, PartitionCommits, Slots } from "./commit-order.js";
import type { IndexConfig } from "./config.js";
import { dailyIndex, prepareDocument } from "./documents.js";
import {
  authFailure,
  type BulkAnswer,
  Elasticsearch,
  type ElasticsearchAuth,
  redactedUrl,
} from "./elasticsearch.js";
import { createIndexMetrics, type IndexMetrics } from "./metrics.js";
import { nativeBulkBody } from "./native-bulk.js";
import { alreadyIndexed, replayedInChunk, replayProbe } from "./replay.js";
import { indexTemplate } from "./template.js";

export interface IndexerDeps {
  logger: Logger;
  registry: Registry;
  kafka?: KafkaClient;
}

/**
 * A record prepared for indexing (see prepareDocument), with the message it came from. Built as
 * one object literal of a fixed shape (not `{ ...prepared, message }`): one per record is read by
 * the replay checks and `bulkBody` on the hot path, which stay monomorphic this way.
 */
interface Pending {
  index: string;
  id: string;
  time: number;
  replayed: boolean;
  body: Buffer;
  message: InMessage;
}

/** A partition's chunks in flight, for one group generation. */
interface PartitionState {
  generation: number;
  commits: PartitionCommits;
  /** Commits of this partition, one after the other (each commits a higher offset). */
  committing: Promise<void>;
}

interface DeadLetter {
  message: InMessage;
  reason: string;
}

/** Thrown inside a batch when the partition was revoked or the indexer stops: nothing is committed. */
class Abandoned extends Error {}

/**
 * `boxscope index`: a consumer group that bulk-indexes the shipper's records into daily indices.
 * Offsets are committed only after Elasticsearch accepted every record up to them (or the record
 * went to the dead-letter topic); Elasticsearch down means the batch is retried with backoff while
 * the group membership is kept alive.
 *
 * Throughput: up to `bulkConcurrency` `_bulk` requests are in flight at once (Elasticsearch stays
 * as busy as under a plain concurrent bulk load), and the batch handler returns as soon as its
 * chunks are handed out, so the consumer fetches the next batch while they are indexed. Chunks
 * may finish in any order; `PartitionCommits` moves the committed offset only over the oldest run
 * of finished chunks, so it never passes a record Elasticsearch has not accepted. Work fetched in
 * an older group generation (a rebalance happened meanwhile) is abandoned uncommitted: the
 * partition's next owner reads it again from the committed offset, onto the same document ids.
 *
 * Sends plain `_bulk` requests (elasticsearch.ts) rather than the client's `helpers.bulk`: the
 * helper owns its own batching and retries and reports failures through callbacks, while the
 * commit rule here needs to know, per chunk, that every item was written or dead-lettered before
 * the offset moves; and each record's own JSON goes out as the document source without being
 * serialized again.
 */
export async function startIndexer(config: IndexConfig, deps: IndexerDeps): Promise<RunningService> {
  const indexer = new Indexer(config, deps);
  const running = indexer.run();
  return {
    name: "index",
    // Pending while healthy; rejects if the consumer gives up for good (so a supervisor restarts us).
    done: running.then(() => indexer.fatal),
    stop: () => indexer.stop(running),
  };
}

class Indexer {
  private readonly log: Logger;
  private readonly injectedKafka: KafkaClient | undefined;
  private readonly es: Elasticsearch;
  private readonly metrics: IndexMetrics;
  private readonly sleeper = new Sleeper();
  private readonly deadLetterTopic: string;
  private readonly slots: Slots;
  private readonly partitions = new Map<string, PartitionState>();
  private consumer: LogConsumer | undefined;
  private dlq: LogProducer | undefined;
  /** Resolves true once the index template is in place; false if stopped before. */
  private esReady: Promise<boolean> = Promise.resolve(false);
  /** The Elasticsearch URL as logs show it (no password). */
  private readonly esUrl: string;
  private stopping = false;
  private giveUp: (e: Error) => void = () => undefined;
  readonly fatal: Promise<void> = new Promise<void>((_, reject) => {
    this.giveUp = reject;
  });

  constructor(
    private readonly config: IndexConfig,
    deps: IndexerDeps,
  ) {
    // Observed through `done`; marked handled here so an early crash is not an unhandled rejection.
    this.fatal.catch(() => undefined);
    this.log = deps.logger.child({ service: "index" });
    this.injectedKafka = deps.kafka;
    this.es = new Elasticsearch(config.elasticsearch, 60000, elasticsearchAuth(config));
    this.esUrl = redactedUrl(config.elasticsearch);
    this.metrics = createIndexMetrics(deps.registry);
    this.deadLetterTopic = config.deadLetterTopic ?? `${config.topic}-dead-letter`;
    this.slots = new Slots(config.bulkConcurrency);
  }

  async run(): Promise<void> {
    // Elasticsearch and Kafka are set up at the same time: the template is needed only by the
    // first `_bulk`, so the group join and the first fetch (and preparing its records) no longer
    // wait for it. Chunks wait for `esReady` in their slot; the batch handler keeps heartbeating.
    this.esReady = this.prepareElasticsearch();
    const kafka = this.injectedKafka ?? (await this.loadKafkaClient());
    await this.untilDone("Kafka brokers", this.config.brokers.join(","), () => this.connectKafka(kafka));
    if (this.stopping) return;
    this.log.info(
      { brokers: this.config.brokers, topic: this.config.topic, group: this.config.group },
      "consuming",
    );
    await this.consumer?.run(this.config.topic, (batch, control) => this.handleBatch(batch, control));
  }

  /**
   * Puts the index template (until it succeeds), then starts creating today's daily index, so the
   * first `_bulk` does not also wait for the index to be created (a cluster state update).
   * Resolves false if the indexer stopped before the template was in place.
   */
  private async prepareElasticsearch(): Promise<boolean> {
    await this.untilDone("Elasticsearch", this.esUrl, async () => {
      const t = indexTemplate(this.config);
      await this.es.putIndexTemplate(t.name, t.body);
    });
    if (this.stopping) return false;
    this.log.info({ elasticsearch: this.esUrl }, "index template in place");
    // Not awaited, best effort: a `_bulk` sent meanwhile waits for it inside Elasticsearch (or
    // creates the index itself), and it may exist already (400, ignored).
    void this.es
      .createIndex(dailyIndex(this.config.indexPrefix, new Date()))
      .catch((e: unknown) => this.log.debug({ err: errorText(e) }, "creating today's index failed"));
    return true;
  }

  /** The librdkafka client, loaded on use. */
  private async loadKafkaClient(): Promise<KafkaClient> {
    const { createRdkafkaClient } = await import("../kafka/rdkafka.js");
    return createRdkafkaClient({
      brokers: this.config.brokers,
      clientId: "boxscope-index",
      logger: this.log,
    });
  }

  /** Connects the consumer and the dead-letter producer and makes sure both topics exist, together. */
  private async connectKafka(kafka: KafkaClient): Promise<void> {
    const consumer = kafka.consumer(this.config.group);
    consumer.onCrash((error, restarting) => {
      this.log.error(
        { err: errorText(error), restarting },
        restarting ? "Kafka consumer crashed; restarting" : "Kafka consumer crashed for good",
      );
      if (!restarting && !this.stopping)
        this.giveUp(
          new BoxscopeError("BXS_KAFKA_CONSUMER_STOPPED", `Kafka consumer stopped: ${errorText(error)}`),
        );
    });
    const dlq = kafka.producer();
    const admin = kafka.admin();
    try {
      await settleAll([consumer.connect(), dlq.connect()]);
      // Once connected: librdkafka asks over the producer's connection (an unreachable broker has
      // failed fast above instead of each check waiting out its own metadata timeout).
      await settleAll([
        admin.ensureTopic(this.config.topic, 3),
        // Made here rather than by the first dead letter: librdkafka never creates a topic by
        // producing to it (the shipper's setting), and a missing one would fail every dead letter.
        admin.ensureTopic(this.deadLetterTopic, 1),
      ]);
    } catch (e) {
      // Nothing half-connected is left behind for the next attempt.
      await Promise.allSettled([consumer.disconnect(), dlq.disconnect()]);
      throw e;
    }
    this.consumer = consumer;
    this.dlq = dlq;
  }

  async stop(running: Promise<void>): Promise<void> {
    this.stopping = true;
    this.sleeper.stop();
    await running.catch(() => undefined);
    // Chunks in flight finish their current request (retries are abandoned) and commit what
    // Elasticsearch accepted while the consumer is still connected; the rest is re-consumed.
    while (this.slots.inUse > 0) await this.slots.whenFree();
    await Promise.all([...this.partitions.values()].map((p) => p.committing));
    // disconnect waits for the batch handler in progress (it returns once stopping is seen).
    await this.consumer?.disconnect().catch(() => undefined);
    await this.dlq?.disconnect().catch(() => undefined);
    await this.es.close();
    this.log.info("indexer stopped");
  }

  /** Counts a 401/403 from Elasticsearch and says what it means; undefined for other errors. */
  private countAuthFailure(e: unknown): ReturnType<typeof authFailure> {
    const refused = authFailure(e);
    if (refused) this.metrics.authFailures.inc({ status: String(refused.status) });
    return refused;
  }

  /** Runs `step` until it succeeds, logging one clear line per failure (start-up connections). */
  private async untilDone(what: string, where: string, step: () => Promise<void>): Promise<void> {
    for (let attempt = 0; !this.stopping; attempt++) {
      try {
        await step();
        return;
      } catch (e) {
        const wait = backoffMs(attempt, this.config.maxBackoffMs, 1000);
        const refused = this.countAuthFailure(e);
        this.log.error(
          { target: where, err: errorText(e), retryInMs: wait },
          refused
            ? `${what} at ${where} refused the indexer (${refused.status}: ${refused.hint}): ${errorText(e)}; retrying`
            : `cannot reach ${what} at ${where}: ${errorText(e)}; retrying`,
        );
        await this.sleeper.sleep(wait);
      }
    }
  }

  /**
   * Hands the batch out in chunks of `bulkMaxDocs`, each as soon as a `_bulk` slot is free, and
   * returns once all are handed out (the consumer then fetches the next batch). Waiting for a slot
   * keeps the group membership alive with heartbeats.
   */
  private async handleBatch(batch: InBatch, control: BatchControl): Promise<void> {
    this.metrics.lagByPartition.set(batch.partition, batch.lag);
    const state = this.partitionState(batch.topic, batch.partition, control.generation);
    const size = this.config.bulkMaxDocs;
    try {
      for (let i = 0; i < batch.messages.length; i += size) {
        const chunk = batch.messages.slice(i, i + size);
        const last = (chunk[chunk.length - 1] as InMessage).offset;
        await this.acquireSlot(control);
        const ticket = state.commits.add(last);
        control.resolve(last);
        void this.runChunk(chunk, batch, state, ticket);
      }
    } catch (e) {
      if (e instanceof Abandoned) return;
      throw e;
    }
  }

  private partitionState(topic: string, partition: number, generation: number): PartitionState {
    const key = `${topic}\u0000${partition}`;
    let state = this.partitions.get(key);
    if (!state || state.generation !== generation) {
      // Chunks of the older generation keep their own state object and never commit.
      state = { generation, commits: new PartitionCommits(), committing: Promise.resolve() };
      this.partitions.set(key, state);
    }
    return state;
  }

  private async acquireSlot(control: BatchControl): Promise<void> {
    while (!this.slots.tryAcquire()) {
      if (!control.isRunning() || !this.current(control.generation)) throw new Abandoned();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.slots.whenFree(),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, 1000);
        }),
      ]);
      clearTimeout(timer);
      // A no-op for librdkafka, which heartbeats from its own thread; kept for any client that does not.
      await control.heartbeat();
    }
  }

  /** Whether work fetched in `generation` may still go on (no rebalance since, not stopping). */
  private current(generation: number): boolean {
    return !this.stopping && this.consumer?.generation() === generation;
  }

  /** Indexes one chunk in its slot, then commits up to the oldest unfinished chunk of its partition. */
  private async runChunk(
    chunk: InMessage[],
    batch: InBatch,
    state: PartitionState,
    ticket: ChunkTicket,
  ): Promise<void> {
    try {
      await this.indexChunk(chunk, ticket, () => this.current(state.generation));
    } catch (e) {
      if (!(e instanceof Abandoned)) {
        // Not an Elasticsearch or Kafka outage (those are retried inside): a bug. The partition's
        // commits cannot pass this chunk any more while fetching goes on, so the indexer stops
        // (exit 1) and its restart re-reads from the committed offset.
        this.log.error({ err: errorText(e), partition: batch.partition }, "indexing a chunk failed");
        this.giveUp(new Error(`indexing a chunk failed: ${errorText(e)}`));
      }
      return;
    } finally {
      this.slots.release();
      ticket.settle();
    }
    const committable = state.commits.finish(ticket);
    if (committable === undefined) return;
    state.committing = state.committing.then(async () => {
      try {
        await this.consumer?.commitOffset(batch.topic, batch.partition, committable, state.generation);
      } catch (e) {
        // Not fatal: the records are in Elasticsearch; a later commit covers them, or the next
        // owner re-reads them onto the same documents.
        this.log.warn(
          { err: errorText(e), partition: batch.partition, offset: committable },
          "offset commit failed",
        );
      }
    });
  }

  /**
   * Indexes every record of the chunk or dead-letters it; returns only when all are settled.
   * Throws Abandoned once `valid()` turns false (stop or rebalance): nothing of it is committed.
   */
  private async indexChunk(chunk: InMessage[], ticket: ChunkTicket, valid: () => boolean): Promise<void> {
    const dead: DeadLetter[] = [];
    const messages = await this.indexPlainChunk(chunk, dead, valid);
    let pending: Pending[] = [];
    let replayed = false;
    for (const message of messages) {
      const p = prepareDocument(message.value, this.config.indexPrefix);
      if (p.ok) {
        pending.push({ index: p.index, id: p.id, time: p.time, replayed: p.replayed, body: p.body, message });
        if (p.replayed) replayed = true;
      } else dead.push({ message, reason: p.reason });
    }
    // Documents are prepared meanwhile; none is sent before the template is in place.
    if (pending.length > 0 && !(await this.esReady)) throw new Abandoned();
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (!valid()) throw new Abandoned();
      const retry: Pending[] = [];
      let failure: string | undefined;
      try {
        // Only a chunk holding replayed records has duplicates to look for (the common case has none).
        if (replayed) {
          pending = await this.dropReplayedDuplicates(pending, ticket);
          if (pending.length === 0) break;
        }
        // The record's own JSON is the document: no re-serialization of what was just parsed.
        const res = await this.es.bulk(bulkBody(pending));
        if (!res.errors && res.items.length === pending.length) {
          this.metrics.documents.inc(pending.length);
          pending = [];
          break;
        }
        failure = this.settleItems(res, pending, (p) => p.message, retry, dead);
      } catch (e) {
        retry.push(...pending);
        const refused = this.countAuthFailure(e);
        failure = refused ? `${refused.status}, ${refused.hint}: ${errorText(e)}` : errorText(e);
      }
      pending = retry;
      if (pending.length > 0) {
        this.metrics.retries.inc();
        const wait = backoffMs(attempt, this.config.maxBackoffMs, 500);
        if (attempt === 0 || attempt % 10 === 0) {
          this.log.error(
            {
              elasticsearch: this.esUrl,
              err: failure,
              documents: pending.length,
              attempt,
              retryInMs: wait,
            },
            "Elasticsearch did not accept the batch; retrying (offsets not committed)",
          );
        }
        await this.sleeper.sleep(wait);
      }
    }
    if (dead.length > 0) await this.deadLetter(dead, valid);
  }

  /**
   * The common case in one native call: when every record of the chunk is a plain shipper record,
   * documents.c writes the whole `_bulk` body (no per-record strings or objects in JavaScript).
   * Returns the records left for the JavaScript path in `indexChunk`: none when Elasticsearch took
   * every item; the items to retry when it refused some (those it never will take are added to
   * `dead`); the whole chunk when the body could not be built this way or the request failed (the
   * JavaScript path then retries it with backoff, logging why).
   */
  private async indexPlainChunk(
    chunk: InMessage[],
    dead: DeadLetter[],
    valid: () => boolean,
  ): Promise<InMessage[]> {
    const body = nativeBulkBody(chunk, this.config.indexPrefix);
    if (body === null) return chunk;
    if (!(await this.esReady)) throw new Abandoned();
    if (!valid()) throw new Abandoned();
    let res: BulkAnswer;
    try {
      res = await this.es.bulk(body);
    } catch {
      return chunk;
    }
    if (!res.errors && res.items.length === chunk.length) {
      this.metrics.documents.inc(chunk.length);
      return [];
    }
    const retry: InMessage[] = [];
    if (this.settleItems(res, chunk, (m) => m, retry, dead) !== undefined) this.metrics.retries.inc();
    return retry;
  }

  /**
   * Sorts the items of a `_bulk` answer (item i is `sent[i]`): accepted ones are counted, the ones
   * that may succeed later go to `retry`, the ones that never will to `dead` with the reason.
   * Items the answer lacks are retried. Returns the last retry reason, if any.
   */
  private settleItems<T>(
    res: BulkAnswer,
    sent: readonly T[],
    messageOf: (t: T) => InMessage,
    retry: T[],
    dead: DeadLetter[],
  ): string | undefined {
    let failure: string | undefined;
    res.items.forEach((item, i) => {
      const t = sent[i] as T;
      const result = item.index ?? item.create ?? item.update;
      const outcome = classifyItem(result ?? { status: 500 });
      if (outcome.kind === "ok") this.metrics.documents.inc();
      else if (outcome.kind === "retry") {
        retry.push(t);
        failure = outcome.reason;
      } else dead.push({ message: messageOf(t), reason: outcome.reason });
    });
    if (res.items.length < sent.length) {
      retry.push(...sent.slice(res.items.length));
      failure = `_bulk answered ${res.items.length} of ${sent.length} items`;
    }
    return failure;
  }

  /**
   * Replayed records (re-read by the shipper after a restart) whose document already sits in an
   * earlier daily index are dropped: one `_mget` without sources per chunk that has any; chunks
   * without replayed records cost nothing. The `_mget` waits for the partition's older chunks
   * (the first copy of a replayed line may be among them; GET is real-time, no refresh needed).
   * Throws (the chunk is retried) when the answer is unsure.
   */
  private async dropReplayedDuplicates(pending: Pending[], ticket: ChunkTicket): Promise<Pending[]> {
    const inChunk = replayedInChunk(pending);
    const rest = inChunk.size === 0 ? pending : pending.filter((_, i) => !inChunk.has(i));
    const probe = replayProbe(rest, this.config.indexPrefix, this.config.replayLookbackDays);
    let skipped = inChunk.size;
    let kept = rest;
    if (probe.docs.length > 0) {
      await ticket.olderSettled;
      const res = await this.es.mget(probe.docs);
      const answer = alreadyIndexed(probe, res);
      if (!answer.ok) throw new BoxscopeError("BXS_ELASTICSEARCH_ANSWER_UNSURE", answer.reason);
      skipped += answer.skip.size;
      if (answer.skip.size > 0) kept = rest.filter((_, i) => !answer.skip.has(i));
    }
    if (skipped > 0) this.metrics.replayedDuplicates.inc(skipped);
    return kept;
  }

  private async deadLetter(dead: DeadLetter[], valid: () => boolean): Promise<void> {
    const messages = dead.map((d) => ({
      key: d.message.key?.toString("utf8") ?? "",
      value: JSON.stringify({
        reason: d.reason,
        topic: this.config.topic,
        offset: d.message.offset,
        value: d.message.value?.toString("utf8") ?? null,
      }),
    }));
    for (let attempt = 0; ; attempt++) {
      if (!valid()) throw new Abandoned();
      try {
        await this.dlq?.send(this.deadLetterTopic, messages);
        break;
      } catch (e) {
        const wait = backoffMs(attempt, this.config.maxBackoffMs, 500);
        this.log.error(
          { topic: this.deadLetterTopic, err: errorText(e), retryInMs: wait },
          "cannot write to the dead-letter topic; retrying",
        );
        await this.sleeper.sleep(wait);
      }
    }
    for (const d of dead) {
      this.metrics.deadLetters.inc({ reason: reasonClass(d.reason) });
      this.log.warn(
        { offset: d.message.offset, reason: d.reason, topic: this.deadLetterTopic },
        "record dead-lettered",
      );
    }
  }
}

/** Waits for every step (none is left running), then throws the first failure if any. */
async function settleAll(steps: Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(steps)).find((s) => s.status === "rejected");
  if (failed) throw failed.reason;
}

/** A bounded label value: the error type, not the free-text reason. */
function reasonClass(reason: string): string {
  if (reason.startsWith("invalid JSON")) return "invalid_json";
  const m = /^\d{3} ([a-z_]+):/.exec(reason);
  if (m?.[1]) return m[1];
  if (reason.startsWith("missing")) return "missing_field";
  return "other";
}

function elasticsearchAuth(config: IndexConfig): ElasticsearchAuth | undefined {
  if (config.elasticsearchApiKey) return { apiKey: config.elasticsearchApiKey };
  if (config.elasticsearchUsername && config.elasticsearchPassword)
    return { username: config.elasticsearchUsername, password: config.elasticsearchPassword };
  return undefined;
}
