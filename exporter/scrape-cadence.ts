/**
 * When each scraper will come back. Prometheus scrapes a target at a fixed interval, so the time
 * since a client's previous scrape predicts its next one; the exporter reads container cgroups
 * shortly before that moment instead of inside the scrape (see ContainerSource.readAhead). A
 * client is the scraper's address: two Prometheus replicas are two clients with their own
 * phase. A wrong guess (an irregular client, a changed interval) costs one read pass that no
 * scrape uses; the scrape then reads for itself, as without a prediction. Pure: the caller
 * passes the clock.
 */

/** Clients remembered at most (the least recently seen is forgotten first). */
export const MAX_CLIENTS = 8;
/** Intervals longer than this are not taken as a cadence (a person with curl, a paused scraper). */
export const MAX_INTERVAL_MS = 10 * 60_000;

export class ScrapeCadence {
  private readonly last = new Map<string, number>();

  /**
   * Records a scrape by `client` at `at` (ms) and returns when the same client is expected next,
   * or undefined when there is no interval to go by yet (first scrape, clock went back, too long).
   */
  observe(client: string, at: number): number | undefined {
    const previous = this.last.get(client);
    // Re-inserting keeps the Map in least-recently-seen order for the eviction below.
    this.last.delete(client);
    this.last.set(client, at);
    if (this.last.size > MAX_CLIENTS) {
      const oldest = this.last.keys().next().value as string;
      this.last.delete(oldest);
    }
    if (previous === undefined) return undefined;
    const interval = at - previous;
    if (interval <= 0 || interval > MAX_INTERVAL_MS) return undefined;
    return at + interval;
  }
}
