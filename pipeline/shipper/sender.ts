import type { Counter } from "prom-client";
import { BoxscopeError } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import { backoffMs, errorText, Sleeper } from "../kafka/backoff.js";
import type { EncodedBatch, LogProducer } from "../kafka/types.js";

export interface SenderOptions {
  topic: string;
  brokers: string[];
  /** Batches sent but not yet acknowledged; `dispatch` waits while this many are in flight. */
  maxInFlight: number;
}

interface InFlight<B> {
  batch: B;
  done: boolean;
  promise: Promise<void>;
}

/**
 * Sends batches and reports them acknowledged strictly in send order (`onAcked`), so positions
 * only ever cover records Kafka holds. A batch Kafka refuses is retried with backoff until it is
 * accepted, or until `giveUp()` says the shipper is stopping past its deadline; a batch given up is
 * never reported, so the positions do not cover it and it is read again at the next start.
 */
export class BatchSender<B extends EncodedBatch & { count: number }> {
  private readonly inflight: InFlight<B>[] = [];
  private readonly backoff = new Sleeper();

  constructor(
    private readonly opts: SenderOptions,
    private readonly log: Logger,
    private readonly retries: Counter,
    /** The connected producer, or undefined when the shipper stopped before Kafka was reachable. */
    private readonly producer: () => Promise<LogProducer | undefined>,
    private readonly onAcked: (batch: B) => void,
    private readonly giveUp: () => boolean,
  ) {}

  /** Whether `maxInFlight` batches are unacknowledged: `send` must wait. */
  get full(): boolean {
    return this.inflight.length >= this.opts.maxInFlight;
  }

  /** Sends `batch`; waits first while `maxInFlight` batches are unacknowledged. */
  async dispatch(batch: B): Promise<void> {
    while (this.full) await this.inflight[0]?.promise;
    this.send(batch);
  }

  /** Sends `batch` at once (synchronously); only when not `full`. */
  send(batch: B): void {
    if (this.full) throw new Error("BatchSender.send while maxInFlight batches are unacknowledged");
    const entry: InFlight<B> = { batch, done: false, promise: Promise.resolve() };
    entry.promise = this.sendUntilAcked(batch).then(
      () => {
        entry.done = true;
        this.applyAcks();
      },
      () => {
        // Given up at stop: this batch and every one after it stay unacknowledged.
        const i = this.inflight.indexOf(entry);
        if (i >= 0) this.inflight.splice(i);
      },
    );
    this.inflight.push(entry);
  }

  /** Waits until every batch sent is acknowledged or given up. */
  async drain(): Promise<void> {
    await Promise.allSettled(this.inflight.map((f) => f.promise));
  }

  /** Ends the retry waits in progress, so retries that `giveUp()` now ends do so at once. */
  wake(): void {
    this.backoff.wake();
  }

  private async sendUntilAcked(batch: B): Promise<void> {
    const producer = await this.producer();
    if (!producer) throw new BoxscopeError("BXS_KAFKA_UNREACHABLE", "stopped before Kafka was reachable");
    for (let attempt = 0; ; attempt++) {
      try {
        await producer.sendEncoded(this.opts.topic, batch);
        if (attempt > 0) this.log.info({ attempts: attempt + 1 }, "Kafka accepted the batch again; resuming");
        return;
      } catch (e) {
        if (this.giveUp()) throw e;
        this.retries.inc();
        const wait = backoffMs(attempt, 5000, 250);
        if (attempt === 0 || attempt % 10 === 0) {
          this.log.error(
            {
              brokers: this.opts.brokers,
              err: errorText(e),
              records: batch.count,
              attempt,
              retryInMs: wait,
            },
            "Kafka did not acknowledge a batch; reading paused, retrying",
          );
        }
        await this.backoff.sleep(wait);
      }
    }
  }

  /** Reports every acknowledged batch at the head of the send order. */
  private applyAcks(): void {
    while (this.inflight[0]?.done) {
      const { batch } = this.inflight.shift() as InFlight<B>;
      this.onAcked(batch);
    }
  }
}
