/** What one `flush` attempt of the producer's queue ended with. */
export type FlushResult = "drained" | "timeout" | Error;

interface Waiter {
  resolve: () => void;
  reject: (e: Error) => void;
}

/**
 * Acknowledges sends by epochs instead of by per-message delivery reports. node-rdkafka turns every
 * delivery report into a JavaScript object and a callback on the main thread (~3 µs each on the
 * development VM, more than everything else the shipper does per line), so the producer asks
 * librdkafka for error reports only (`delivery.report.only.error`) and learns of success from
 * `flush`: once librdkafka's queue is empty, every message produced before is either acknowledged
 * by the brokers or was reported as an error.
 *
 * Sends that were produced while no flush ran form the open epoch; a flush takes the open epoch
 * and, when the queue drained, resolves its sends, or rejects them all when any delivery error was
 * reported meanwhile (an error report cannot be tied to its send without a per-message opaque, the
 * very cost avoided here, so every send it may belong to is failed and sent again: duplicates, never
 * loss; the Elasticsearch document id absorbs them). Sends made during a flush wait for the next one.
 */
export class FlushAcks {
  private open: Waiter[] = [];
  private openError: Error | undefined;
  private flushing: Waiter[] | undefined;
  private flushingError: Error | undefined;
  private scheduled = false;

  constructor(
    /** Starts one flush of the producer's queue; calls back once. */
    private readonly flushOnce: (done: (result: FlushResult) => void) => void,
    /** Runs a callback after the I/O callbacks already due (setImmediate). */
    private readonly defer: (fn: () => void) => void = setImmediate,
  ) {}

  /** Call once every message of a send was handed to the producer: settles with its delivery. */
  wait(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.open.push({ resolve, reject });
      this.schedule();
    });
  }

  /** A delivery report with an error: every send not settled yet may own that message. */
  deliveryFailed(e: Error): void {
    if (this.open.length > 0) this.openError ??= e;
    if (this.flushing) this.flushingError ??= e;
  }

  /** Sends waiting for acknowledgement (in a flush or for the next one). */
  get pending(): number {
    return this.open.length + (this.flushing?.length ?? 0);
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    // Sends made in the same turn (the shipper dispatches several batches at once) share a flush.
    this.defer(() => {
      this.scheduled = false;
      this.startFlush();
    });
  }

  private startFlush(): void {
    if (this.flushing || this.open.length === 0) return;
    this.flushing = this.open;
    this.flushingError = this.openError;
    this.open = [];
    this.openError = undefined;
    const attempt = (): void =>
      this.flushOnce((result) => {
        if (result === "timeout") return attempt(); // still queued: delivered or failed later
        // Error reports already queued for JavaScript are dispatched before the deferred settle.
        this.defer(() => this.settle(result === "drained" ? undefined : result));
      });
    attempt();
  }

  private settle(flushError: Error | undefined): void {
    const waiters = this.flushing ?? [];
    const error = this.flushingError ?? flushError;
    this.flushing = undefined;
    this.flushingError = undefined;
    for (const w of waiters) {
      if (error) w.reject(error);
      else w.resolve();
    }
    if (this.open.length > 0) this.startFlush();
  }
}
