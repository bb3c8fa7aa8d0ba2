/** One chunk of a partition handed to Elasticsearch: done once accepted or dead-lettered. */
export interface ChunkTicket {
  readonly lastOffset: string;
  done: boolean;
  /** Resolves when every older chunk of the partition has settled (finished or abandoned). */
  readonly olderSettled: Promise<void>;
  /** Resolves when this chunk and every older one have settled. */
  readonly settled: Promise<void>;
  /** Marks this chunk settled (called once, finished or abandoned). */
  settle(): void;
}

/**
 * The commit rule with several `_bulk` requests in flight: chunks of one partition may finish in any
 * order, but the committed offset only moves over a run of finished chunks starting at the oldest,
 * so it never passes a record Elasticsearch has not accepted.
 */
export class PartitionCommits {
  private readonly queue: ChunkTicket[] = [];
  private head = 0;
  private newestSettled: Promise<void> = Promise.resolve();

  /** Registers the next chunk (in the partition's order), ending at `lastOffset`. */
  add(lastOffset: string): ChunkTicket {
    const olderSettled = this.newestSettled;
    let settle: () => void = () => undefined;
    const own = new Promise<void>((resolve) => {
      settle = resolve;
    });
    const settled = Promise.all([olderSettled, own]).then(() => undefined);
    this.newestSettled = settled;
    const ticket: ChunkTicket = { lastOffset, done: false, olderSettled, settled, settle };
    this.queue.push(ticket);
    return ticket;
  }

  /**
   * Marks `ticket` done; returns the last offset that may now be committed (the end of the
   * oldest run of finished chunks), or undefined when an older chunk is still in flight.
   */
  finish(ticket: ChunkTicket): string | undefined {
    ticket.done = true;
    let committable: string | undefined;
    while (this.head < this.queue.length && (this.queue[this.head] as ChunkTicket).done) {
      committable = (this.queue[this.head] as ChunkTicket).lastOffset;
      this.head++;
    }
    // Drop the finished prefix now and then instead of shifting on every finish.
    if (this.head > 64 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    return committable;
  }

  /** Chunks registered and not yet committable. */
  get pending(): number {
    return this.queue.length - this.head;
  }
}

/**
 * A counting limit on `_bulk` requests in flight. `acquire` never blocks; `whenFree` resolves the
 * next time a slot is released (the caller heartbeats between waits).
 */
export class Slots {
  private used = 0;
  private waiters: (() => void)[] = [];

  constructor(readonly capacity: number) {}

  tryAcquire(): boolean {
    if (this.used >= this.capacity) return false;
    this.used++;
    return true;
  }

  release(): void {
    this.used--;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  whenFree(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  get inUse(): number {
    return this.used;
  }
}
