import { closeSync, constants, openSync, readSync } from "node:fs";
import { errnoCode } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import { type KmsgRecord, parseKmsgRecord } from "./kmsg-parse.js";

export type KmsgListener = (record: KmsgRecord) => void;

/**
 * The exporter's single reader of the kernel log, shared by every collector that needs it (OOM
 * attribution, kernel log patterns): the field reports learned that several readers of one printk
 * buffer disagree and double-count. Subscribers receive each record once.
 *
 * Reading: /dev/kmsg opened non-blocking and drained every `pollMs` on the main thread. Each read()
 * returns exactly one record; EAGAIN = nothing new; EPIPE = records were overwritten before we read
 * them (we continue with the next). A blocking read would pin one of libuv's four pool threads
 * forever, hence polling. The backlog present at start is skipped, so a restart of the exporter does
 * not count old OOM kills again (the cgroup counters cover kills that happened while it was down).
 */
export class KmsgSource {
  private fd: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<KmsgListener>();
  private readonly buf = Buffer.alloc(16384);
  /** Records received since start, and records lost to overwrites (EPIPE). */
  received = 0;
  overwritten = 0;

  constructor(
    private readonly path: string,
    private readonly pollMs: number,
    private readonly logger: Logger,
  ) {}

  subscribe(listener: KmsgListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Opens the log and skips its backlog; throws when it cannot be read. Records after this are kept. */
  open(): void {
    if (this.fd !== undefined) return;
    this.fd = openSync(this.path, constants.O_RDONLY | constants.O_NONBLOCK);
    this.drain(false);
  }

  /** Starts delivering (call once the subscribers are in place). */
  start(): void {
    this.open();
    if (this.timer) return;
    this.timer = setInterval(() => this.drain(true), this.pollMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** Reads every available record; delivers them when `deliver` (false = skip the backlog). */
  drain(deliver: boolean): void {
    if (this.fd === undefined) return;
    for (;;) {
      let n: number;
      try {
        n = readSync(this.fd, this.buf, 0, this.buf.length, null);
      } catch (e) {
        const code = errnoCode(e);
        if (code === "EAGAIN") return;
        if (code === "EPIPE") {
          this.overwritten++;
          continue;
        }
        this.logger.error({ err: e, path: this.path }, "reading the kernel log failed; will retry");
        return;
      }
      if (n === 0) return;
      if (!deliver) continue;
      const record = parseKmsgRecord(this.buf.toString("utf8", 0, n));
      if (!record) continue;
      this.received++;
      for (const l of this.listeners) {
        try {
          l(record);
        } catch (e) {
          this.logger.error({ err: e }, "kernel log subscriber failed");
        }
      }
    }
  }
}
