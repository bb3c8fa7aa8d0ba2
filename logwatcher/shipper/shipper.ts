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
import type { Fingerprint } from "./fingerprint.js";
import { createShipMetrics, type ShipMetrics } from "./metrics.js";
import { loadPositions, type PositionEntry, type Positions, savePositions } from "./positions.js";
import type { RecordBatch } from "./record-batch.js";
import { findRotatedCopy } from "./rotated-copy.js";
import { BatchSender } from "./sender.js";
import { TrackedFile } from "./tracked-file.js";

/** Content of a tracked file that a truncation or rewrite took away, and where reading it stopped. */
interface LostContent {
  fileId: string;
  fingerprint: Fingerprint;
  /** First byte not handed out in a record. */
  from: number;
  /** The size the file was last known to have (at least `from`). */
  sizeBefore: number;
  /** Records of the copy starting before this offset carry `replayed: true`. */
  replayUntil: number;
}

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
  /** Ids of positions loaded at start and not resumed yet: bytes past them may have been sent. */
  private readonly fromDisk = new Set<string>();
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
      for (const id of res.positions.keys()) this.fromDisk.add(id);
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
      const sizeBefore = f.size;
      const grew = st.size !== f.size;
      f.size = st.size;
      if (grew && f.fileId === undefined) f.lastGrowthAt = now;
      if (f.fileId === undefined) await this.identify(f, now);
      else if (st.size < f.readPos)
        await this.restart(f, `size ${st.size} < position ${f.readPos}`, sizeBefore);
      else if (grew && f.fingerprint && (await this.ensureOpen(f))) {
        if (!(await f.headMatches(f.fingerprint.hash, f.fingerprint.length)))
          await this.restart(f, "head rewritten", sizeBefore);
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
    const byDir = new Map<string, (PositionEntry & { id: string })[]>();
    for (const [id, e] of this.positions) {
      if (tracked.has(`${e.dev}:${e.ino}`)) continue;
      const list = byDir.get(dirname(e.path)) ?? [];
      list.push({ ...e, id });
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
        // The id the position was saved under: a rotated copy read in place of its original keeps
        // the original's identity (recoverFromCopy).
        f.startAt(entry.offset, { hash: entry.fpHash, length: entry.fpLength, settled: true }, entry.id);
        if (this.fromDisk.delete(entry.id)) f.replayUntil = st.size;
        this.files.set(f.key, f);
        f.watchChanges(() => this.sleeper.wake());
        this.log.info(
          { file: p, was: entry.path, from: entry.offset },
          "found a file rotated away while stopped; reading it to the end",
        );
      }
    }
  }

  /**
   * Truncation, copytruncate or a rewritten file: what was not read yet is looked for in the
   * rotated copy (recoverFromCopy), then the file starts again from byte 0 as a new generation.
   * `sizeBefore` is the size the file had at the previous check.
   */
  private async restart(f: TrackedFile, why: string, sizeBefore: number): Promise<void> {
    const lost: LostContent | undefined =
      f.fileId !== undefined && f.fingerprint
        ? {
            fileId: f.fileId,
            fingerprint: f.fingerprint,
            from: f.emittedPos,
            sizeBefore: Math.max(sizeBefore, f.readPos),
            replayUntil: f.replayUntil,
          }
        : undefined;
    f.reset();
    if (lost) await this.recoverFromCopy(f, lost, why);
    await this.identify(f, Date.now());
  }

  /**
   * `f` no longer holds `lost` (truncated or rewritten in place, e.g. logrotate copytruncate). The
   * bytes past `lost.from` may exist only in the copy: when a copy is found beside the file (same
   * head, long enough; logwatcher/shipper/rotated-copy.ts), it is read from `lost.from` to its end
   * under the old identity, so every record keeps the (fileId, offset), hence the document id, a
   * normal read would have given it. The old identity's position moves to the copy, so a restart
   * meanwhile finds it there (findRotatedAway). Without a copy, the loss is logged and counted.
   */
  private async recoverFromCopy(f: TrackedFile, lost: LostContent, why: string): Promise<void> {
    const now = Date.now();
    const fp = lost.fingerprint;
    // The same head again: the old and new content are indistinguishable by identity.
    const sameHead = await f.headMatches(fp.hash, fp.length);
    const copy = sameHead
      ? undefined
      : await findRotatedCopy(
          dirname(f.path),
          { dev: f.dev, ino: f.ino, fpHash: fp.hash, fpLength: fp.length, from: lost.from },
          (dev, ino) => this.files.has(`${dev}:${ino}`),
        );
    const entry = this.positions.get(lost.fileId);
    if (copy) {
      const c = new TrackedFile(
        copy.dev,
        copy.ino,
        copy.path,
        f.container,
        { ...this.config, multilineFirstLine: this.firstLine },
        now,
      );
      // Opened at once: a `compress` right after the copy may delete it; the open handle still reads.
      if (await c.reopen()) {
        c.size = copy.size;
        c.orphanSince = now;
        c.startAt(lost.from, { ...fp, settled: true }, lost.fileId);
        c.replayUntil = lost.replayUntil;
        this.files.set(c.key, c);
        const moved: PositionEntry = {
          dev: copy.dev,
          ino: copy.ino,
          fpHash: fp.hash,
          fpLength: fp.length,
          offset: entry?.offset ?? lost.from,
          path: copy.path,
          container: f.container,
          seenAt: now,
        };
        this.positions.set(lost.fileId, moved);
        this.positionsDirty = true;
        this.newlyTracked = true;
        this.metrics.truncations.inc({ rotated_copy: "found" });
        this.log.info(
          { file: f.path, reason: why, copy: copy.path, from: lost.from, copySize: copy.size },
          "file truncated or rewritten; reading what it held past the last read from its rotated copy, then the file from the start",
        );
        return;
      }
      await c.close();
    }
    if (entry) {
      this.positions.delete(lost.fileId);
      this.positionsDirty = true;
    }
    const unread = Math.max(0, lost.sizeBefore - lost.from);
    this.metrics.truncations.inc({ rotated_copy: "missing" });
    this.metrics.truncationUnreadBytes.inc(unread);
    this.log.warn(
      { file: f.path, reason: why, position: lost.from, unreadBytes: unread, sameHead },
      `file truncated or rewritten and no rotated copy found beside it${sameHead ? " (its new content starts like the old one, so a copy cannot be told apart)" : ""}: ${unread} bytes known unread are lost (and any written after the last check); reading it again from the start`,
    );
  }

  /** Fingerprints the file and finds its position (or starts it fresh). */
  private async identify(f: TrackedFile, now: number): Promise<void> {
    if (!(await this.ensureOpen(f))) return;
    const head = await f.readHead();
    if (!head) {
      // Empty: nothing to name it by yet; but if it had content before, its rotated copy is read now
      // rather than when the application next writes.
      await this.recoverStale(f);
      return;
    }
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
      // Resumed from the positions file: what lies between it and the size now may have been sent.
      if (this.fromDisk.delete(id)) f.replayUntil = f.size;
      if (f.fileId !== id) this.positions.delete(id);
      this.track(f);
      return;
    }
    await this.recoverStale(f);
    const atEnd =
      this.config.startAt === "end" || (this.recoverMode === "end" && f.firstSeenAt <= this.firstScanEndedAt);
    f.startAt(atEnd ? f.size : 0, head);
    // --positions-recover=start: everything present at start may have been sent before.
    if (this.recoverMode === "start" && f.firstSeenAt <= this.firstScanEndedAt) f.replayUntil = f.size;
    this.track(f);
    this.log.info({ file: f.path, container: f.container, from: f.readPos }, "tracking new file");
  }

  /**
   * Positions of `f`'s inode that its content no longer matches: truncated or rewritten while the
   * shipper was down (or the inode reused). The newest one's unread part may sit in a rotated copy;
   * older ones are dropped (their content is gone from this inode).
   */
  private async recoverStale(f: TrackedFile): Promise<void> {
    const stale = [...this.positions]
      .filter(([, e]) => e.dev === f.dev && e.ino === f.ino)
      .sort(([, a], [, b]) => b.seenAt - a.seenAt);
    for (const [id] of stale.slice(1)) {
      this.positions.delete(id);
      this.positionsDirty = true;
    }
    const newest = stale[0];
    if (!newest) return;
    const [id, e] = newest;
    await this.recoverFromCopy(
      f,
      {
        fileId: id,
        fingerprint: { hash: e.fpHash, length: e.fpLength, settled: true },
        from: e.offset,
        sizeBefore: e.offset,
        replayUntil: this.fromDisk.delete(id) ? Number.POSITIVE_INFINITY : 0,
      },
      "truncated, rewritten or inode reused since its position was saved",
    );
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
      await this.restart(f, `size ${st.size} < position ${f.readPos}`, f.size);
      return false;
    }
    if (st.size > f.size && !(await f.headMatches(f.fingerprint.hash, f.fingerprint.length))) {
      await this.restart(f, "head rewritten", f.size);
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
