import { mkdirSync } from "node:fs";
import { readdir, readlink, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { Registry } from "prom-client";
import { errnoCode } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import type { RunningService } from "../../common/service.js";
import { backoffMs, errorText, Sleeper } from "../kafka/backoff.js";
import type { KafkaClient, LogProducer } from "../kafka/types.js";

/** What the shipper uses of a Kafka client: it only produces (and may create the topic). */
export type ShipKafka = Pick<KafkaClient, "producer" | "admin">;

import { BatchBuilder } from "./batch-builder.js";
import type { ShipConfig } from "./config.js";
import { containerFor } from "./container.js";
import { createShipMetrics, type ShipMetrics } from "./metrics.js";
import { loadPositions, type PositionEntry, type Positions, savePositions } from "./positions.js";
import type { RecordBatch } from "./record-batch.js";
import { BatchSender } from "./sender.js";
import { TrackedFile } from "./tracked-file.js";

export interface ShipperDeps {
  logger: Logger;
  registry: Registry;
  /** Defaults to `config.kafkaClient` (rdkafka or kafkajs) on `config.brokers`. */
  kafka?: ShipKafka;
}

/** How long a stop waits for Kafka to acknowledge what is in flight before giving up on it. */
const STOP_FLUSH_MS = 10000;

/**
 * `boxscope ship`: tails every file the spool links to and produces each record to Kafka.
 * Files are tracked by inode (several links to one file are one file) and named by
 * (device, inode, head fingerprint). Positions advance only when Kafka acknowledged a batch, in
 * send order, and are written atomically; a corrupt positions file stops the start (see
 * docs/pipeline.md for the recovery flags).
 */
export async function startShipper(config: ShipConfig, deps: ShipperDeps): Promise<RunningService> {
  const shipper = new Shipper(config, deps);
  shipper.loadPositions();
  const running = shipper.run();
  shipper.running = running;
  return {
    name: "ship",
    // Ends only on a fatal error; a clean stop leaves it pending.
    done: running.then(() => new Promise<void>(() => undefined)),
    stop: () => shipper.stop(),
  };
}

class Shipper {
  private readonly log: Logger;
  private kafka: ShipKafka | undefined;
  private readonly metrics: ShipMetrics;
  private readonly sleeper = new Sleeper();
  private producer: LogProducer | undefined;
  private positions: Positions = new Map();
  private recoverMode: "start" | "end" | undefined;
  /** Files first seen before this instant were present at start (for `--positions-recover=end`). */
  private firstScanEndedAt = Number.POSITIVE_INFINITY;
  private readonly files = new Map<string, TrackedFile>();
  private readonly batches: BatchBuilder;
  private readonly sender: BatchSender<RecordBatch<TrackedFile>>;
  private stopping = false;
  private stopDeadline = Number.POSITIVE_INFINITY;
  private positionsDirty = false;
  private newlyTracked = false;
  private lastPersistAt = Date.now();
  private nextScanAt = 0;
  private spoolMissingLogged = false;
  private readonly readBuf: Buffer;
  private readonly firstLine: RegExp | undefined;

  constructor(
    private readonly config: ShipConfig,
    deps: ShipperDeps,
  ) {
    this.log = deps.logger.child({ service: "ship" });
    this.kafka = deps.kafka;
    this.readBuf = Buffer.alloc(config.readChunkBytes);
    this.firstLine = config.multilineFirstLine ? new RegExp(config.multilineFirstLine) : undefined;
    this.batches = new BatchBuilder({
      host: config.host,
      batchMaxBytes: config.batchMaxBytes,
      batchMaxRecords: config.batchMaxRecords ?? (config.kafkaClient === "rdkafka" ? 10000 : 1000),
    });
    this.metrics = createShipMetrics(deps.registry, {
      lagBytes: () => {
        let lag = 0;
        for (const f of this.files.values()) lag += Math.max(0, Math.max(f.size, f.readPos) - f.ackedPos);
        return lag;
      },
      positionAgeSeconds: () => (Date.now() - this.lastPersistAt) / 1000,
      openFiles: () => this.openCount(),
    });
    this.sender = new BatchSender(
      { topic: config.topic, brokers: config.brokers, maxInFlight: config.maxInFlightBatches },
      this.log,
      this.metrics.retries,
      async () => ((await this.connected) ? this.producer : undefined),
      (batch) => this.applyAcks(batch),
      () => this.stopping && Date.now() > this.stopDeadline,
    );
  }

  loadPositions(): void {
    mkdirSync(dirname(this.config.positions), { recursive: true });
    const res = loadPositions(this.config.positions, this.config.positionsRecover);
    if (res.kind === "loaded") {
      this.positions = res.positions;
      this.log.info({ file: res.from, files: res.positions.size }, "positions loaded");
    } else if (res.kind === "recovering") {
      this.recoverMode = res.mode;
      this.log.warn(
        { file: this.config.positions, reason: res.reason, mode: res.mode },
        `positions file unusable; recovering: files present now start at their ${res.mode}`,
      );
    }
  }

  async run(): Promise<void> {
    // Reading starts at once, before Kafka answers: a file truncated or deleted during a slow start
    // is then already in memory (bounded by the in-flight batches) instead of lost.
    this.connected = this.connect();
    let lastPersistCheck = Date.now();
    while (!this.stopping) {
      const now = Date.now();
      if (now >= this.nextScanAt) {
        await this.scan(now);
        this.nextScanAt = now + this.config.pollIntervalMs;
        if (this.firstScanEndedAt === Number.POSITIVE_INFINITY) {
          this.firstScanEndedAt = now;
          await this.findRotatedAway(now);
        }
      }
      const progressed = await this.readPass(now);
      this.batches.seal();
      await this.dispatchReady();
      // A newly tracked file is written down at once: if the shipper dies before its first ack
      // and the file is rotated away meanwhile, the restart can still find it (findRotatedAway).
      if (this.newlyTracked || now - lastPersistCheck >= this.config.positionsFlushMs) {
        this.newlyTracked = false;
        this.persist(false);
        lastPersistCheck = now;
      }
      if (!progressed && !this.stopping) await this.sleeper.sleep(Math.max(10, this.nextScanAt - Date.now()));
    }
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopDeadline = Date.now() + STOP_FLUSH_MS;
    this.stopping = true;
    this.sleeper.wake();
    // The loop ends at its next check; then everything read is flushed and acknowledged (or not,
    // if Kafka stays down: then the positions simply do not cover it and it is re-read next start).
    await this.waitForLoop();
    this.batches.seal();
    await this.dispatchReady().catch(() => undefined);
    await this.sender.drain();
    this.persist(true);
    for (const f of this.files.values()) await f.close();
    await this.producer?.disconnect().catch(() => undefined);
    this.log.info({ file: this.config.positions }, "shipper stopped; positions saved");
  }

  running: Promise<void> | undefined;
  private async waitForLoop(): Promise<void> {
    await this.running?.catch(() => undefined);
  }

  private connected: Promise<boolean> = Promise.resolve(false);

  private async connect(): Promise<boolean> {
    if (!this.kafka) {
      // Loaded after reading started: the client is the slowest module to load.
      const clientOpts = {
        brokers: this.config.brokers,
        clientId: `boxscope-ship-${this.config.host}`,
        logger: this.log,
      };
      if (this.config.kafkaClient === "rdkafka") {
        const { createRdkafkaClient } = await import("../kafka/rdkafka.js");
        this.kafka = createRdkafkaClient(clientOpts);
      } else {
        const { createKafkajsClient } = await import("../kafka/kafkajs.js");
        this.kafka = createKafkajsClient(clientOpts);
      }
      this.log.info({ client: this.config.kafkaClient }, "Kafka producer client");
    }
    const kafka = this.kafka;
    this.producer = kafka.producer();
    for (let attempt = 0; !this.stopping; attempt++) {
      try {
        await this.producer?.connect();
        if (this.config.createTopic) {
          const created = await this.kafka
            .admin()
            .ensureTopic(this.config.topic, this.config.topicPartitions);
          if (created) this.log.info({ topic: this.config.topic }, "topic created");
        }
        this.log.info({ brokers: this.config.brokers, topic: this.config.topic }, "connected to Kafka");
        return true;
      } catch (e) {
        const wait = backoffMs(attempt, 10000, 1000);
        this.log.error(
          { brokers: this.config.brokers, err: errorText(e), retryInMs: wait },
          `cannot reach Kafka brokers ${this.config.brokers.join(",")}: ${errorText(e)}; retrying`,
        );
        await this.sleeper.sleep(wait);
      }
    }
    return false;
  }

  /** Lists the spool, starts tracking new inodes, marks inodes no link points at as orphans. */
  private async scan(now: number): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.config.spool);
      this.spoolMissingLogged = false;
    } catch (e) {
      if (!this.spoolMissingLogged) {
        this.log.warn(
          { spool: this.config.spool, err: errnoCode(e) },
          "cannot list the spool directory; waiting",
        );
        this.spoolMissingLogged = true;
      }
      names = [];
    }
    const seen = new Set<string>();
    for (const name of names) {
      const link = join(this.config.spool, name);
      let st: Awaited<ReturnType<typeof stat>>;
      try {
        st = await stat(link);
      } catch {
        continue; // dangling link: the file is gone (its content was read while open, if it was)
      }
      if (!st.isFile()) continue;
      const key = `${st.dev}:${st.ino}`;
      seen.add(key);
      let f = this.files.get(key);
      if (!f) {
        let target: string;
        try {
          target = resolve(this.config.spool, await readlink(link));
        } catch {
          target = link;
        }
        f = new TrackedFile(
          st.dev,
          st.ino,
          target,
          containerFor(this.config.logRoot, target, name),
          {
            ...this.config,
            multilineFirstLine: this.firstLine,
          },
          now,
        );
        this.files.set(key, f);
      }
      f.linkNames.add(name);
      f.orphanSince = undefined;
      const grew = st.size !== f.size;
      f.size = st.size;
      if (grew && f.fileId === undefined) f.lastGrowthAt = now;
      if (f.fileId === undefined) await this.identify(f, now);
      else if (st.size < f.readPos) await this.restart(f, `size ${st.size} < position ${f.readPos}`);
      else if (grew && f.fingerprint && (await this.ensureOpen(f))) {
        if (!(await f.headMatches(f.fingerprint.hash, f.fingerprint.length)))
          await this.restart(f, "head rewritten");
      }
    }
    for (const f of this.files.values()) {
      if (!seen.has(f.key) && f.orphanSince === undefined) {
        f.orphanSince = now;
        this.log.debug({ file: f.path }, "file left the spool; reading it to the end");
      }
    }
  }

  /**
   * Files that left the spool while the shipper was down (renamed by a rotation) are no longer
   * reachable through a link. Their positions remember the path: a rename rotation keeps the
   * directory, so the same inode is looked for beside it and read to the end.
   */
  private async findRotatedAway(now: number): Promise<void> {
    const tracked = new Set(this.files.keys());
    const byDir = new Map<string, PositionEntry[]>();
    for (const e of this.positions.values()) {
      if (tracked.has(`${e.dev}:${e.ino}`)) continue;
      const list = byDir.get(dirname(e.path)) ?? [];
      list.push(e);
      byDir.set(dirname(e.path), list);
    }
    for (const [dir, entries] of byDir) {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch {
        continue;
      }
      for (const name of names) {
        const p = join(dir, name);
        const st = await stat(p).catch(() => undefined);
        const entry = st && entries.find((e) => e.dev === st.dev && e.ino === st.ino);
        if (!st || !entry || st.size <= entry.offset || this.files.has(`${st.dev}:${st.ino}`)) continue;
        const f = new TrackedFile(
          st.dev,
          st.ino,
          p,
          entry.container,
          { ...this.config, multilineFirstLine: this.firstLine },
          now,
        );
        if (!(await f.reopen()) || !(await f.headMatches(entry.fpHash, entry.fpLength))) {
          await f.close();
          continue;
        }
        f.size = st.size;
        f.orphanSince = now;
        f.startAt(entry.offset, { hash: entry.fpHash, length: entry.fpLength, settled: true });
        this.files.set(f.key, f);
        f.watchChanges(() => this.sleeper.wake());
        this.log.info(
          { file: p, was: entry.path, from: entry.offset },
          "found a file rotated away while stopped; reading it to the end",
        );
      }
    }
  }

  /** Truncation, copytruncate or a rewritten file: start again from byte 0 as a new generation. */
  private async restart(f: TrackedFile, why: string): Promise<void> {
    this.log.warn(
      { file: f.path, reason: why, position: f.readPos },
      "file truncated or rewritten; reading it again from the start",
    );
    f.reset();
    await this.identify(f, Date.now());
  }

  /** Fingerprints the file and finds its position (or starts it fresh). */
  private async identify(f: TrackedFile, now: number): Promise<void> {
    if (!(await this.ensureOpen(f))) return;
    const head = await f.readHead();
    if (!head) return; // empty: nothing to name it by yet
    // A short first line without its newline may still grow: wait for it unless it sits idle.
    if (!head.settled && now - f.lastGrowthAt < this.config.partialFlushMs) return;
    for (const [id, entry] of this.positions) {
      if (entry.dev !== f.dev || entry.ino !== f.ino) continue;
      if (!(await f.headMatches(entry.fpHash, entry.fpLength))) continue;
      const offset = f.size < entry.offset ? 0 : entry.offset;
      if (offset !== entry.offset)
        this.log.warn(
          { file: f.path, size: f.size, position: entry.offset },
          "file shorter than its position; reading it from the start",
        );
      f.startAt(offset, { hash: entry.fpHash, length: entry.fpLength, settled: true });
      if (f.fileId !== id) this.positions.delete(id);
      this.track(f);
      return;
    }
    const stale = [...this.positions.values()].find((e) => e.dev === f.dev && e.ino === f.ino);
    if (stale) {
      this.log.warn(
        { file: f.path, position: stale.offset },
        "file truncated, rewritten or its inode reused since its position was saved; reading the new content from the start (lines never read before the truncation are only in the rotated copy)",
      );
    }
    const atEnd =
      this.config.startAt === "end" || (this.recoverMode === "end" && f.firstSeenAt <= this.firstScanEndedAt);
    f.startAt(atEnd ? f.size : 0, head);
    this.track(f);
    this.log.info({ file: f.path, container: f.container, from: f.readPos }, "tracking new file");
  }

  private track(f: TrackedFile): void {
    if (f.fileId === undefined || !f.fingerprint) return;
    f.watchChanges(() => this.sleeper.wake());
    const entry: PositionEntry = {
      dev: f.dev,
      ino: f.ino,
      fpHash: f.fingerprint.hash,
      fpLength: f.fingerprint.length,
      offset: f.ackedPos,
      path: f.path,
      container: f.container,
      seenAt: Date.now(),
    };
    this.positions.set(f.fileId, entry);
    this.positionsDirty = true;
    this.newlyTracked = true;
  }

  private openCount(): number {
    let n = 0;
    for (const f of this.files.values()) if (f.handle) n++;
    return n;
  }

  /** Opens the file, closing the least recently read ones beyond `maxOpenFiles`. */
  private async ensureOpen(f: TrackedFile): Promise<boolean> {
    if (f.handle) return true;
    if (this.openCount() >= this.config.maxOpenFiles) {
      const victims = [...this.files.values()]
        .filter((o) => o.handle && o !== f && o.orphanSince === undefined)
        .sort((a, b) => a.lastUsedAt - b.lastUsedAt);
      const victim = victims[0];
      if (victim) await victim.close();
    }
    return f.reopen();
  }

  /** Reads one chunk from each file with data; returns whether anything was read. */
  private async readPass(now: number): Promise<boolean> {
    let progressed = false;
    // One read time per pass (millisecond resolution is all @timestamp carries anyway).
    this.batches.startPass(now);
    for (const f of [...this.files.values()]) {
      if (this.stopping) break;
      if (f.fileId === undefined) {
        if (f.orphanSince !== undefined && now - f.orphanSince > this.config.orphanCloseMs)
          await this.forget(f, "left the spool before it could be identified");
        continue;
      }
      const mayHaveData = f.readPos < f.size || f.changed || f.orphanSince !== undefined || !f.drained;
      if (!mayHaveData) continue;
      if (!(await this.ensureOpen(f))) {
        if (f.orphanSince !== undefined)
          await this.forget(f, "gone before it was read to the end (closed to bound open files)");
        continue;
      }
      if (f.changed && f.readPos >= f.size && !(await this.stillSameContent(f))) continue;
      const orphanIdle = f.orphanSince !== undefined && now - f.lastGrowthAt >= this.config.orphanCloseMs;
      const { eof } = await f.readInto(this.readBuf, now, orphanIdle, this.batches);
      if (f.readPos > f.size) f.size = f.readPos;
      if (!eof) progressed = true;
      // Full batches go out before the next read: at most one chunk's worth waits in memory.
      await this.dispatchReady();
      if (eof && orphanIdle && f.drained && f.unacked === 0) await this.forget(f, undefined);
    }
    return progressed;
  }

  /**
   * Before reading past the size the last scan checked, the same checks the scan makes: a file
   * now shorter than the position, or with another head, was truncated or rewritten.
   */
  private async stillSameContent(f: TrackedFile): Promise<boolean> {
    const st = await f.handle?.stat().catch(() => undefined);
    if (!st || !f.fingerprint) return true;
    if (st.size < f.readPos) {
      await this.restart(f, `size ${st.size} < position ${f.readPos}`);
      return false;
    }
    if (st.size > f.size && !(await f.headMatches(f.fingerprint.hash, f.fingerprint.length))) {
      await this.restart(f, "head rewritten");
      return false;
    }
    f.size = st.size;
    return true;
  }

  /** Stops tracking a file that left the spool; its position stays (a link may come back). */
  private async forget(f: TrackedFile, problem: string | undefined): Promise<void> {
    await f.close();
    this.files.delete(f.key);
    if (problem) this.log.warn({ file: f.path, position: f.ackedPos }, `stopped reading a file: ${problem}`);
    else this.log.debug({ file: f.path, position: f.ackedPos }, "file read to the end and closed");
  }

  /** Sends the batches the builder filled; waits while `maxInFlightBatches` are unacknowledged. */
  private async dispatchReady(): Promise<void> {
    for (const batch of this.batches.takeReady()) await this.sender.dispatch(batch);
  }

  /** Advances positions over an acknowledged batch (the sender reports them in send order). */
  private applyAcks(batch: RecordBatch<TrackedFile>): void {
    let bytes = 0;
    const now = Date.now();
    for (const span of batch.spans) {
      const f = span.file;
      f.unacked -= span.records;
      bytes += span.bytes;
      if (span.generation !== f.generation || span.end <= f.ackedPos) continue;
      f.ackedPos = span.end;
      const entry = this.positions.get(span.fileId);
      if (entry) {
        entry.offset = span.end;
        entry.seenAt = now;
      }
    }
    this.metrics.lines.inc(batch.count);
    this.metrics.bytes.inc(bytes);
    this.positionsDirty = true;
    this.batches.release(batch);
  }

  private persist(force: boolean): void {
    const now = Date.now();
    for (const f of this.files.values()) {
      const e = f.fileId === undefined ? undefined : this.positions.get(f.fileId);
      if (e) e.seenAt = now;
    }
    for (const [id, e] of this.positions) {
      if (now - e.seenAt > this.config.forgetAfterMs) {
        this.positions.delete(id);
        this.positionsDirty = true;
      }
    }
    if (!this.positionsDirty && !force) return;
    try {
      savePositions(this.config.positions, this.positions);
      this.positionsDirty = false;
      this.lastPersistAt = now;
    } catch (e) {
      this.log.error(
        { file: this.config.positions, err: errorText(e) },
        "cannot write the positions file; will retry",
      );
    }
  }
}
