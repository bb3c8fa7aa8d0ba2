import { dirname } from "node:path";
import type { Registry } from "prom-client";
import { ContainerLabeler } from "../../common/container-labels.js";
import type { Logger } from "../../common/logger.js";
import { compileLinearRegex } from "../../common/regex.js";
import type { RunningService } from "../../common/service.js";
import { backoffMs, errorText, Sleeper } from "../kafka/backoff.js";
import type { KafkaClient, LogProducer } from "../kafka/types.js";

/** What the shipper uses of a Kafka client: it only produces (and may create the topic). */
export type ShipKafka = Pick<KafkaClient, "producer" | "admin">;

import { logTrees } from "../sources.js";
import { BatchBuilder } from "./batch-builder.js";
import type { ShipConfig } from "./config.js";
import { ContainerMetrics } from "./container-metrics.js";
import { DecodedStream } from "./decoded-stream.js";
import { describeFile } from "./file-meta.js";
import { createShipMetrics, type ShipMetrics } from "./metrics.js";
import { PositionBook } from "./position-book.js";
import type { PositionEntry } from "./positions.js";
import { ContainerRateLimiter } from "./rate-limit.js";
import type { RecordBatch } from "./record-batch.js";
import { BatchSender } from "./sender.js";
import { SpoolScanner, type SpoolTree } from "./spool-scan.js";
import type { ReadLimits, TrackedFile } from "./tracked-file.js";
import { TruncationHandler } from "./truncation.js";

export interface ShipperDeps {
  logger: Logger;
  registry: Registry;
  /** Defaults to librdkafka (kafka/rdkafka.ts) on `config.brokers`; tests hand in fakes. */
  kafka?: ShipKafka;
}

/** How long a stop waits for Kafka to acknowledge what is in flight before giving up on it. */
const STOP_FLUSH_MS = 10000;

/**
 * Reading paused this long means Kafka is not acknowledging (not the in-flight bound met for a
 * moment while shipping at full speed): from then on the unread bytes are counted in lines.
 */
const COUNT_UNREAD_AFTER_MS = 1000;

/** A container's name and team are looked up again this often (a rename, a new mapping file). */
const META_REFRESH_MS = 30_000;

/**
 * A container over its rate limit is read again once it may read this much (or all it has unread):
 * not a few bytes on every wake-up its own writes cause.
 */
const MIN_THROTTLED_READ = 64 * 1024;

/**
 * `boxscope ship`: tails every file the spool links to and produces each record to Kafka.
 * Files are tracked by inode (several links to one file are one file) and named by
 * (device, inode, head fingerprint). Positions advance only when Kafka acknowledged a batch, in
 * send order, and are written atomically; a corrupt positions file stops the start (see
 * docs/pipeline.md for the recovery flags).
 */
export async function startShipper(config: ShipConfig, deps: ShipperDeps): Promise<RunningService> {
  // A producer binding that was never built is a start-up error, not a Kafka outage to retry.
  if (!deps.kafka) (await import("../kafka/native-producer.js")).loadBinding();
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
  /** Positions, their recovery mode and the dirty/newly-tracked flags the run loop persists by. */
  private readonly book: PositionBook;
  private readonly files = new Map<string, TrackedFile>();
  private readonly batches: BatchBuilder;
  private readonly sender: BatchSender<RecordBatch<TrackedFile>>;
  private stopping = false;
  private stopDeadline = Number.POSITIVE_INFINITY;
  private nextScanAt = 0;
  private readonly truncation: TruncationHandler;
  private readonly spool: SpoolScanner;
  private readonly readBuf: Buffer;
  /** The read pass in progress: files still to read one chunk of, resumed after a pause. */
  private passFiles: TrackedFile[] = [];
  private passIndex = 0;
  /** Since when reading has been paused (batches waiting for room in flight), if it is. */
  private pausedSince: number | undefined;
  /** This pause was long enough to be logged (and to count unread lines). */
  private pauseLogged = false;
  private readonly labeler: ContainerLabeler;
  /** The decoders of the runtimes' logs, one per container run (FileMeta.streamKey). */
  private readonly streams = new Map<string, DecodedStream<TrackedFile>>();
  private readonly limiter: ContainerRateLimiter;
  private readonly containerMetrics: ContainerMetrics;

  constructor(
    private readonly config: ShipConfig,
    deps: ShipperDeps,
  ) {
    this.log = deps.logger.child({ service: "ship" });
    this.kafka = deps.kafka;
    this.readBuf = Buffer.alloc(config.readChunkBytes);
    this.containerMetrics = new ContainerMetrics(deps.registry, () =>
      [...this.files.values()].map((f) => ({
        meta: f.meta,
        lagBytes: Math.max(0, Math.max(f.size, f.readPos) - f.ackedPos),
        behindSince: f.behindSince,
      })),
    );
    this.batches = new BatchBuilder(
      {
        host: config.host,
        batchMaxBytes: config.batchMaxBytes,
        batchMaxRecords: config.batchMaxRecords,
      },
      (f, r) => {
        const source = f.limits.kind;
        if (r.error !== undefined) this.containerMetrics.problem(source, r.error);
        if (r.truncated) this.containerMetrics.problem(source, "truncated");
        if (r.partial) this.containerMetrics.problem(source, "partial");
      },
    );
    this.labeler = new ContainerLabeler(
      // Docker keeps a container's config.v2.json beside its log: <data-root>/containers/<id>/.
      { dockerRoot: dirname(config.dockerLogRoot), team: config.team },
      this.log,
    );
    this.limiter = new ContainerRateLimiter(config.containerRateBytes, config.containerBurstBytes);
    this.metrics = createShipMetrics(deps.registry, {
      lagBytes: () => {
        let lag = 0;
        for (const f of this.files.values()) lag += Math.max(0, Math.max(f.size, f.readPos) - f.ackedPos);
        return lag;
      },
      uncountedBytes: () => {
        let bytes = 0;
        for (const f of this.files.values()) if (f.fileId !== undefined) bytes += f.uncountedBytes;
        return bytes;
      },
      positionAgeSeconds: () => (Date.now() - this.book.lastPersistAt) / 1000,
      openFiles: () => this.openCount(),
    });
    this.book = new PositionBook(config, this.log, this.metrics.positionWriteErrors);
    this.sender = new BatchSender(
      { topic: config.topic, brokers: config.brokers, maxInFlight: config.maxInFlightBatches },
      this.log,
      this.metrics.retries,
      async () => ((await this.connected) ? this.producer : undefined),
      (batch) => this.applyAcks(batch),
      () => this.stopping && Date.now() > this.stopDeadline,
    );
    // Spool discovery and truncation handling get the same maps and book by reference (not the
    // Shipper): what they add or mark is what the read pass and the persist step then see.
    const shared = {
      config,
      log: this.log,
      files: this.files,
      book: this.book,
      ensureOpen: (f: TrackedFile) => this.ensureOpen(f),
    };
    this.truncation = new TruncationHandler({
      ...shared,
      metrics: this.metrics,
      track: (f) => this.track(f),
    });
    this.spool = new SpoolScanner({
      ...shared,
      trees: spoolTrees(config),
      labeler: this.labeler,
      truncation: this.truncation,
      wake: () => this.sleeper.wake(),
    });
  }

  loadPositions(): void {
    this.book.load();
  }

  async run(): Promise<void> {
    // Reading starts at once, before Kafka answers: a file truncated or deleted during a slow start
    // is then already in memory (bounded by the in-flight batches) instead of lost.
    this.connected = this.connect();
    let lastPersistCheck = Date.now();
    while (!this.stopping) {
      const now = Date.now();
      if (now >= this.nextScanAt) {
        await this.spool.scan(now);
        this.nextScanAt = now + this.config.pollIntervalMs;
        if (this.book.firstScanEndedAt === Number.POSITIVE_INFINITY) {
          this.book.firstScanEndedAt = now;
          await this.spool.findRotatedAway(now);
        }
      }
      // Kafka holding every batch it may: reading pauses, but the files are still watched (a
      // truncation or rotation meanwhile must be caught while its rotated copy is still there).
      this.dispatchReady();
      const paused = this.readingPaused();
      if (paused) this.pausedSince ??= now;
      else {
        this.pausedSince = undefined;
        this.pauseLogged = false;
      }
      const progressed = paused ? await this.watchPass(now) : await this.readPass(now);
      this.batches.seal();
      this.dispatchReady();
      // A newly tracked file is written down at once: if the shipper dies before its first ack
      // and the file is rotated away meanwhile, the restart can still find it (findRotatedAway).
      if (this.book.newlyTracked || now - lastPersistCheck >= this.config.positionsFlushMs) {
        this.book.newlyTracked = false;
        this.persist(false);
        lastPersistCheck = now;
      }
      // An acknowledgement during this turn made room: read on at once (its wake-up came early).
      const resumed = paused && !this.readingPaused();
      if (!progressed && !resumed && !this.stopping)
        await this.sleeper.sleep(Math.max(10, this.nextScanAt - Date.now()));
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
    // Now waiting for room in flight (until the deadline), as the loop no longer does.
    for (const batch of this.batches.takeReady()) await this.sender.dispatch(batch).catch(() => undefined);
    await this.drainUntilDeadline();
    let notSaved: unknown;
    try {
      this.persist(true);
    } catch (e) {
      notSaved = e;
    }
    for (const f of this.files.values()) await f.close();
    // The connect loop ends at its next check; a producer it made must be closed.
    await this.connected.catch(() => false);
    await this.producer?.disconnect().catch(() => undefined);
    if (notSaved !== undefined) throw notSaved;
    this.log.info({ file: this.config.positions }, "shipper stopped; positions saved");
  }

  /**
   * Waits for the batches in flight until the stop deadline. With Kafka gone since they were sent
   * that would be librdkafka's message timeout (30 s) or more, past what a service manager waits
   * before SIGKILL: at the deadline the producer closes without flushing, which fails what is
   * unacknowledged (read again at the next start: the positions do not cover it).
   */
  private async drainUntilDeadline(): Promise<void> {
    const drained = this.sender.drain();
    const deadline = new Sleeper();
    const late = await Promise.race([
      drained.then(() => false),
      // One ms past it, so giveUp() (strictly after the deadline) holds when the sends fail.
      deadline.sleep(Math.max(0, this.stopDeadline - Date.now()) + 1).then(() => true),
    ]);
    deadline.stop();
    if (!late) return;
    this.log.warn(
      { waitedMs: STOP_FLUSH_MS },
      "Kafka did not acknowledge everything in flight before the stop deadline; closing the producer (those lines are read again at the next start)",
    );
    await this.producer?.disconnect(0).catch(() => undefined);
    this.sender.wake();
    await drained;
  }

  running: Promise<void> | undefined;
  private async waitForLoop(): Promise<void> {
    await this.running?.catch(() => undefined);
  }

  private connected: Promise<boolean> = Promise.resolve(false);

  private async connect(): Promise<boolean> {
    if (!this.kafka) {
      // Loaded after reading started: the client is the slowest module to load.
      const { createRdkafkaClient } = await import("../kafka/rdkafka.js");
      this.kafka = createRdkafkaClient({
        brokers: this.config.brokers,
        clientId: `boxscope-ship-${this.config.host}`,
        logger: this.log,
        compression: this.config.compression,
        idempotence: this.config.idempotence,
      });
    }
    // A stop during the client's import has already passed its producer check: a producer made
    // now would never be closed, and its threads would keep the process alive.
    if (this.stopping) return false;
    this.producer = this.kafka.producer();
    const { brokers, topic } = this.config;
    for (let attempt = 0; !this.stopping; attempt++) {
      let stage: "brokers" | "topic" = "brokers";
      try {
        await this.producer?.connect();
        stage = "topic";
        if (this.config.createTopic) {
          const created = await this.kafka.admin().ensureTopic(topic, this.config.topicPartitions);
          if (created) this.log.info({ topic }, "topic created");
        }
        this.log.info({ brokers, topic }, "connected to Kafka");
        return true;
      } catch (e) {
        const wait = backoffMs(attempt, 10000, 1000);
        this.metrics.connectFailures.inc({ stage });
        // Positions advance only on acknowledgement, so an outage or a refused topic loses nothing.
        const what =
          stage === "brokers"
            ? `cannot reach Kafka brokers ${brokers.join(",")}`
            : `Kafka brokers ${brokers.join(",")} refused to create topic ${topic}`;
        this.log.error(
          { brokers, topic, err: errorText(e), retryInMs: wait },
          `${what}: ${errorText(e)}; retrying`,
        );
        // stop() woke the sleeper once, before this attempt failed: no wait after a stop.
        if (!this.stopping) await this.sleeper.sleep(wait);
      }
    }
    return false;
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
    this.book.track(f.fileId, entry);
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
    const before = f.refusal?.reason;
    const opened = await f.reopen();
    const r = f.refusal;
    if (!opened && r && r.reason !== "gone" && r.reason !== before)
      this.log.warn({ file: f.path, reason: r.reason, detail: r.detail }, "refused to open a spool file");
    return opened;
  }

  /**
   * Reads one chunk from each file with data, until batches wait for room in flight; the next
   * call resumes the pass there, so every file gets its turn under back-pressure. Returns whether
   * anything was read.
   */
  private async readPass(now: number): Promise<boolean> {
    let progressed = false;
    // One read time per turn (millisecond resolution is all @timestamp carries anyway).
    this.batches.startPass(now);
    if (this.passIndex >= this.passFiles.length) {
      this.passFiles = [...this.files.values()];
      this.passIndex = 0;
    }
    while (this.passIndex < this.passFiles.length && !this.stopping && !this.readingPaused()) {
      const f = this.passFiles[this.passIndex++] as TrackedFile;
      if (this.files.get(f.key) !== f) continue; // forgotten, or replaced, since the pass began
      if (f.fileId === undefined) {
        if (f.orphanSince !== undefined && now - f.orphanSince > this.config.orphanCloseMs)
          await this.forget(f, "left the spool before it could be identified");
        continue;
      }
      if (f.readPos < f.size) f.behindSince ??= now;
      else f.behindSince = undefined;
      const mayHaveData = f.readPos < f.size || f.changed || f.orphanSince !== undefined || !f.drained;
      if (!mayHaveData) continue;
      if (now - f.metaAt >= META_REFRESH_MS) this.refreshMeta(f, now);
      const stream = this.streamOf(f);
      // A rotated-away file of the same container run is read to its end first.
      if (stream?.waits(f)) continue;
      const allowance = this.limiter.allowance(f.meta.rateKey, now);
      const unread = Math.max(1, f.size - f.readPos);
      if (allowance < Math.min(MIN_THROTTLED_READ, this.config.containerBurstBytes, unread)) continue;
      if (!(await this.ensureOpen(f))) {
        if (f.orphanSince !== undefined)
          await this.forget(f, "gone before it was read to the end (closed to bound open files)");
        continue;
      }
      if (f.changed && f.readPos >= f.size && !(await this.stillSameContent(f))) continue;
      const orphanIdle = f.orphanSince !== undefined && now - f.lastGrowthAt >= this.config.orphanCloseMs;
      const { eof, bytesRead } = await f.readInto({
        buf: this.readBuf,
        now,
        final: orphanIdle,
        sink: this.batches,
        maxBytes: allowance,
      });
      this.limiter.take(f.meta.rateKey, bytesRead, now);
      // Held to less than a chunk by the container's budget: these bytes were read at its rate.
      if (bytesRead > 0 && allowance < this.readBuf.length)
        this.containerMetrics.throttledRead(f.meta, bytesRead);
      if (f.readPos > f.size) f.size = f.readPos;
      if (f.readPos >= f.size) f.behindSince = undefined;
      if (!eof) progressed = true;
      // Full batches go out before the next read: at most one chunk's worth waits in memory.
      this.dispatchReady();
      if (eof && orphanIdle && f.drained && f.unacked === 0) await this.forget(f, undefined);
    }
    return progressed;
  }

  /**
   * While reading is paused: a file written since the last look is checked at once (fstat through
   * the open descriptor, as before a read), so a truncation or rewrite is noticed and its rotated
   * copy found and held open (recoverFromCopy) while Kafka is away, not after the copy is deleted.
   * Once paused for COUNT_UNREAD_AFTER_MS, the unread bytes are counted in lines, one chunk per
   * file and turn, so a loss that no copy can prevent is still counted exactly. Returns whether it
   * counted anything.
   */
  private async watchPass(now: number): Promise<boolean> {
    const count = now - (this.pausedSince ?? now) >= COUNT_UNREAD_AFTER_MS;
    if (count && !this.pauseLogged) {
      this.pauseLogged = true;
      this.log.info(
        { pausedMs: now - (this.pausedSince ?? now) },
        "reading paused: Kafka has not acknowledged the batches in flight; files are still watched for truncation and rotation, and their unread lines counted",
      );
    }
    let counted = false;
    for (const f of [...this.files.values()]) {
      if (this.stopping || !this.readingPaused()) break;
      if (f.fileId === undefined || !f.handle || this.files.get(f.key) !== f) continue;
      if (f.changed) {
        f.changed = false;
        if (!(await this.stillSameContent(f))) continue;
      }
      if (count && (await f.countAhead(this.readBuf))) counted = true;
    }
    return counted;
  }

  /**
   * Before reading past the size the last scan checked, the same checks the scan makes: a file
   * now shorter than the position, or with another head, was truncated or rewritten.
   */
  private async stillSameContent(f: TrackedFile): Promise<boolean> {
    const st = await f.handle?.stat().catch(() => undefined);
    if (!st || !f.fingerprint) return true;
    if (st.size < f.readPos) {
      await this.truncation.restart(f, `size ${st.size} < position ${f.readPos}`, f.size);
      return false;
    }
    if (st.size > f.size && !(await f.headMatches(f.fingerprint.hash, f.fingerprint.length))) {
      await this.truncation.restart(f, "head rewritten", f.size);
      return false;
    }
    f.size = st.size;
    return true;
  }

  /** The decoder of `f`'s container run, when its tree's format needs one (made on first use). */
  private streamOf(f: TrackedFile): DecodedStream<TrackedFile> | undefined {
    const format = f.limits.format;
    if (format === "plain" || f.stream) return f.stream;
    const key = f.meta.streamKey;
    let stream = this.streams.get(key);
    if (!stream) {
      stream = new DecodedStream<TrackedFile>(format, this.config.maxRecordBytes);
      this.streams.set(key, stream);
    }
    stream.add(f, f.readPos);
    f.stream = stream;
    return stream;
  }

  private refreshMeta(f: TrackedFile, now: number): void {
    const link = f.linkNames.values().next().value ?? "";
    const meta = describeFile(f.limits.kind, f.limits.logRoot, f.path, link, this.labeler);
    // Only a new name or team makes a new object (and new cached record prefixes).
    if (meta.container !== f.meta.container || meta.team !== f.meta.team || meta.fields !== f.meta.fields)
      f.meta = meta;
    f.metaAt = now;
  }

  /** Stops tracking a file that left the spool; its position stays (a link may come back). */
  private async forget(f: TrackedFile, problem: string | undefined): Promise<void> {
    await f.close();
    this.files.delete(f.key);
    this.batches.forget(f);
    const stream = f.stream;
    if (stream) {
      stream.remove(f);
      if (stream.files.size === 0) this.streams.delete(f.meta.streamKey);
    }
    const rateKey = f.meta.rateKey;
    if (![...this.files.values()].some((o) => o.meta.rateKey === rateKey)) {
      this.limiter.forget(rateKey);
      this.containerMetrics.forget(rateKey);
    }
    if (problem) this.log.warn({ file: f.path, position: f.ackedPos }, `stopped reading a file: ${problem}`);
    else this.log.debug({ file: f.path, position: f.ackedPos }, "file read to the end and closed");
  }

  /** Sends the batches the builder filled, in order, while fewer than `maxInFlightBatches` are in flight. */
  private dispatchReady(): void {
    const ready = this.batches.ready;
    while (ready.length > 0 && !this.sender.full) this.sender.send(ready.shift() as RecordBatch<TrackedFile>);
  }

  /** Batches wait for room in flight: no reading until Kafka acknowledges one. */
  private readingPaused(): boolean {
    return this.batches.ready.length > 0;
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
      const entry = this.book.positions.get(span.fileId);
      if (entry) {
        entry.offset = span.end;
        entry.seenAt = now;
      }
    }
    this.metrics.lines.inc(batch.count);
    this.metrics.bytes.inc(bytes);
    this.book.dirty = true;
    this.batches.release(batch);
    // Reading may have paused for room in flight: there is some now.
    this.sleeper.wake();
  }

  private persist(force: boolean): void {
    this.book.persist(force, this.files.values());
  }
}

/** The spools the shipper reads, the log root's first, each with how its files are read. */
function spoolTrees(config: ShipConfig): SpoolTree[] {
  const shared: Omit<ReadLimits, "logRoot" | "kind" | "format"> = {
    ...config,
    // Compiled once for every file.
    multilineFirstLine: config.multilineFirstLine
      ? compileLinearRegex(config.multilineFirstLine, "ship multilineFirstLine")
      : undefined,
  };
  // `auto` trees are read when their spool exists: the logwatcher makes it once it found the root.
  const trees = logTrees({ ...config, include: [], exclude: [] }, config, () => true);
  return trees.map((t) => ({
    spool: t.spool,
    limits: {
      ...shared,
      logRoot: t.root,
      kind: t.kind,
      format: t.format,
      // The multi-line pattern is for the log root's files; the runtimes' lines are joined by their decoders.
      ...(t.kind === "app" ? {} : { multilineFirstLine: undefined }),
    },
  }));
}
