import type { estypes } from "@elastic/elasticsearch";
import { Client } from "@elastic/elasticsearch";
import type { Registry } from "prom-client";
import type { Logger } from "../../common/logger.js";
import type { RunningService } from "../../common/service.js";
import { backoffMs, errorText, Sleeper } from "../kafka/backoff.js";
import { createKafkajsClient } from "../kafka/kafkajs.js";
import type {
  BatchControl,
  InBatch,
  InMessage,
  KafkaClient,
  LogConsumer,
  LogProducer,
} from "../kafka/types.js";
import { classifyItem } from "./bulk.js";
import type { IndexConfig } from "./config.js";
import { prepareDocument } from "./documents.js";
import { createIndexMetrics, type IndexMetrics } from "./metrics.js";
import { indexTemplate } from "./template.js";

export interface IndexerDeps {
  logger: Logger;
  registry: Registry;
  kafka?: KafkaClient;
}

interface Pending {
  message: InMessage;
  index: string;
  id: string;
  /** The record value as received (a JSON object, validated by prepareDocument). */
  raw: string;
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
 * Uses `client.bulk` rather than `helpers.bulk`: the helper owns its own batching and retries and
 * reports failures through callbacks, while the commit rule here needs to know, per Kafka batch,
 * that every item was written or dead-lettered before the offset moves.
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
  private readonly kafka: KafkaClient;
  private readonly es: Client;
  private readonly metrics: IndexMetrics;
  private readonly sleeper = new Sleeper();
  private readonly deadLetterTopic: string;
  private consumer: LogConsumer | undefined;
  private dlq: LogProducer | undefined;
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
    this.kafka =
      deps.kafka ??
      createKafkajsClient({ brokers: config.brokers, clientId: "boxscope-index", logger: this.log });
    this.es = new Client({ node: config.elasticsearch, maxRetries: 0, requestTimeout: 60000 });
    this.metrics = createIndexMetrics(deps.registry);
    this.deadLetterTopic = config.deadLetterTopic ?? `${config.topic}-dead-letter`;
  }

  async run(): Promise<void> {
    await this.untilDone("Elasticsearch", this.config.elasticsearch, async () => {
      const t = indexTemplate(this.config);
      await this.es.indices.putIndexTemplate({ name: t.name, ...t.body });
    });
    if (this.stopping) return;
    this.log.info({ elasticsearch: this.config.elasticsearch }, "index template in place");
    await this.untilDone("Kafka brokers", this.config.brokers.join(","), async () => {
      this.consumer = this.kafka.consumer(this.config.group);
      this.consumer.onCrash((error, restarting) => {
        this.log.error(
          { err: errorText(error), restarting },
          restarting ? "Kafka consumer crashed; restarting" : "Kafka consumer crashed for good",
        );
        if (!restarting && !this.stopping)
          this.giveUp(new Error(`Kafka consumer stopped: ${errorText(error)}`));
      });
      this.dlq = this.kafka.producer();
      await this.consumer.connect();
      await this.dlq.connect();
      await this.kafka.admin().ensureTopic(this.config.topic, 3);
    });
    if (this.stopping) return;
    this.log.info(
      { brokers: this.config.brokers, topic: this.config.topic, group: this.config.group },
      "consuming",
    );
    await this.consumer?.run(this.config.topic, (batch, control) => this.handleBatch(batch, control));
  }

  async stop(running: Promise<void>): Promise<void> {
    this.stopping = true;
    this.sleeper.wake();
    await running.catch(() => undefined);
    // disconnect waits for the batch in progress; uncommitted work is re-consumed by the next owner.
    await this.consumer?.disconnect().catch(() => undefined);
    await this.dlq?.disconnect().catch(() => undefined);
    await this.es.close();
    this.log.info("indexer stopped");
  }

  /** Runs `step` until it succeeds, logging one clear line per failure (start-up connections). */
  private async untilDone(what: string, where: string, step: () => Promise<void>): Promise<void> {
    for (let attempt = 0; !this.stopping; attempt++) {
      try {
        await step();
        return;
      } catch (e) {
        const wait = backoffMs(attempt, this.config.maxBackoffMs, 1000);
        this.log.error(
          { target: where, err: errorText(e), retryInMs: wait },
          `cannot reach ${what} at ${where}: ${errorText(e)}; retrying`,
        );
        await this.sleeper.sleep(wait);
      }
    }
  }

  private async handleBatch(batch: InBatch, control: BatchControl): Promise<void> {
    this.metrics.lagByPartition.set(batch.partition, batch.lag);
    const size = this.config.bulkMaxDocs;
    try {
      for (let i = 0; i < batch.messages.length; i += size) {
        const chunk = batch.messages.slice(i, i + size);
        await this.indexChunk(chunk, control);
        const last = chunk[chunk.length - 1];
        if (last) await control.commit(last.offset);
        await control.heartbeat();
      }
    } catch (e) {
      if (e instanceof Abandoned) return;
      throw e;
    }
  }

  /** Indexes every record of the chunk or dead-letters it; returns only when all are settled. */
  private async indexChunk(messages: InMessage[], control: BatchControl): Promise<void> {
    let pending: Pending[] = [];
    const dead: DeadLetter[] = [];
    for (const message of messages) {
      const p = prepareDocument(message.value, this.config.indexPrefix);
      if (p.ok)
        pending.push({ message, index: p.index, id: p.id, raw: (message.value as Buffer).toString("utf8") });
      else dead.push({ message, reason: p.reason });
    }
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (!control.isRunning() || this.stopping) throw new Abandoned();
      const retry: Pending[] = [];
      let failure: string | undefined;
      try {
        // The record's own JSON is the document: no re-serialization of what was just parsed.
        let ndjson = "";
        for (const p of pending)
          ndjson += `{"index":{"_index":${JSON.stringify(p.index)},"_id":"${p.id}"}}\n${p.raw}\n`;
        const res = (await this.es.transport.request({
          method: "POST",
          path: "/_bulk",
          bulkBody: ndjson,
        })) as estypes.BulkResponse;
        res.items.forEach((item, i) => {
          const p = pending[i] as Pending;
          const result = item.index ?? item.create ?? item.update;
          const outcome = classifyItem(result ?? { status: 500 });
          if (outcome.kind === "ok") this.metrics.documents.inc();
          else if (outcome.kind === "retry") {
            retry.push(p);
            failure = outcome.reason;
          } else dead.push({ message: p.message, reason: outcome.reason });
        });
      } catch (e) {
        retry.push(...pending);
        failure = errorText(e);
      }
      pending = retry;
      if (pending.length > 0) {
        this.metrics.retries.inc();
        const wait = backoffMs(attempt, this.config.maxBackoffMs, 500);
        if (attempt === 0 || attempt % 10 === 0) {
          this.log.error(
            {
              elasticsearch: this.config.elasticsearch,
              err: failure,
              documents: pending.length,
              attempt,
              retryInMs: wait,
            },
            "Elasticsearch did not accept the batch; retrying (offsets not committed)",
          );
        }
        await this.sleeper.sleep(wait);
        await control.heartbeat().catch(() => undefined);
      }
    }
    if (dead.length > 0) await this.deadLetter(dead, control);
  }

  private async deadLetter(dead: DeadLetter[], control: BatchControl): Promise<void> {
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
      if (!control.isRunning() || this.stopping) throw new Abandoned();
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

/** A bounded label value: the error type, not the free-text reason. */
function reasonClass(reason: string): string {
  if (reason.startsWith("invalid JSON")) return "invalid_json";
  const m = /^\d{3} ([a-z_]+):/.exec(reason);
  if (m?.[1]) return m[1];
  if (reason.startsWith("missing")) return "missing_field";
  return "other";
}
