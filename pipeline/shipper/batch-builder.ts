import type { BulkResult, LineBytes, LinesRun } from "../../common/files/lines.js";
import { loadNativeBinding } from "../native/binding.js";
import type { DecodedRecord } from "./decoded-record.js";
import { encodeDecodedRecord, IsoTimes } from "./decoded-record.js";
import type { DecodedSpan } from "./decoded-stream.js";
import type { FileMeta } from "./file-meta.js";
import type { LogRecord } from "./multiline.js";
import { RecordBatch, type RecordPrefix, recordPrefix } from "./record-batch.js";
import type { RecordSink, TrackedFile } from "./tracked-file.js";

export interface BatchLimits {
  host: string;
  batchMaxRecords: number;
  batchMaxBytes: number;
}

/** Room beyond `batchMaxBytes` in a pooled buffer, so an ordinary record never needs its own. */
const SLACK_BYTES = 64 * 1024;

/** pipeline/native/src/records.c: complete lines of a chunk → records, as RecordBatch writes them. */
interface RecordsBinding {
  encodeLines(
    src: Buffer,
    from: number,
    to: number,
    dst: Buffer,
    dstPos: number,
    prefix: Buffer,
    offset: number,
    replayUntil: number,
    maxLineBytes: number,
    ends: Uint32Array,
    maxRecords: number,
    byteBudget: number,
    keyLength: number,
    state: Float64Array,
  ): void;
}

/**
 * Turns what files hand out (TrackedFile.readInto) into full record batches, synchronously: a file
 * chunk may fill several; they wait in `ready` until the shipper dispatches them. Batch buffers are
 * pooled: one returns to the pool once Kafka acknowledged its batch (or it was given up).
 */
export class BatchBuilder implements RecordSink {
  readonly ready: RecordBatch<TrackedFile>[] = [];
  private current: RecordBatch<TrackedFile> | undefined;
  private readonly pool: Buffer[] = [];
  private readonly slabBytes: number;
  private readonly prefixes = new Map<
    TrackedFile,
    { stamp: string; fileId: string; path: string; meta: FileMeta; prefix: RecordPrefix }
  >();
  /** Per file of a decoded tree: the members from `host` to `fileId`, and the partitioning key. */
  private readonly decodedMeta = new Map<
    TrackedFile,
    { fileId: string; path: string; meta: FileMeta; json: string; key: Buffer }
  >();
  private stamp = "";
  private readonly isoTimes = new IsoTimes();
  private readonly native = loadNativeBinding<RecordsBinding>("boxscope_records");
  private readonly encodeState = new Float64Array(3);
  private readonly bulkResult: BulkResult = { to: 0, records: 0 };

  constructor(
    private readonly limits: BatchLimits,
    /** Told of every decoded record (the shipper counts flagged ones). */
    private readonly onDecoded: (f: TrackedFile, r: DecodedRecord) => void = () => undefined,
  ) {
    this.slabBytes = limits.batchMaxBytes + SLACK_BYTES;
  }

  /** Starts a read pass: its records carry this `@timestamp` (the old prefixes are dropped). */
  startPass(now: number): void {
    this.stamp = new Date(now).toISOString();
    this.prefixes.clear();
  }

  lineBytes(f: TrackedFile, line: Readonly<LineBytes>): void {
    const prefix = this.prefixOf(f);
    const batch = this.batchFor(prefix, line.stop - line.start);
    // Records starting before `replayUntil` may have been sent before a restart (tracked-file.ts).
    batch.addBytes(prefix, line.offset, line.src, line.start, line.stop, {
      truncated: line.truncated,
      replayed: line.offset < f.replayUntil,
      lines: 1,
    });
    this.added(batch, f, line.offset, line.end);
  }

  /**
   * As many complete lines of the run as fit the batch being filled, encoded in one native call;
   * the result is reused by the next call. None taken (no complete line, or no room left) leaves
   * the next line to `lineBytes`, which seals.
   */
  linesBulk(f: TrackedFile, run: Readonly<LinesRun>): BulkResult {
    const { src, from, offset } = run;
    const prefix = this.prefixOf(f);
    const batch = this.current ?? this.open(0);
    const state = this.encodeState;
    this.native.encodeLines(
      src,
      from,
      run.to,
      batch.data,
      batch.pos,
      prefix.json,
      offset,
      f.replayUntil,
      run.maxLineBytes,
      batch.freeEnds,
      this.limits.batchMaxRecords - batch.count,
      Math.max(0, this.limits.batchMaxBytes - batch.bytes),
      prefix.key.length,
      state,
    );
    const records = state[2] as number;
    const result = this.bulkResult;
    result.records = records;
    result.to = state[0] as number;
    if (records === 0) return result;
    batch.addEncoded(prefix.key, records, state[1] as number);
    batch.cover(f, f.generation, f.fileId as string, offset, offset + (result.to - from), records);
    if (batch.count >= this.limits.batchMaxRecords || batch.bytes >= this.limits.batchMaxBytes) this.seal();
    return result;
  }

  record(f: TrackedFile, r: LogRecord): void {
    const prefix = this.prefixOf(f);
    const batch = this.batchFor(prefix, r.text.length);
    batch.addText(prefix, r.offset, r.text, {
      truncated: r.truncated,
      replayed: r.offset < f.replayUntil,
      lines: r.lines,
    });
    this.added(batch, f, r.offset, r.end);
  }

  decoded(r: DecodedRecord, span: DecodedSpan<TrackedFile>): void {
    const f = span.file;
    this.onDecoded(f, r);
    const { json: meta, key } = this.decodedMetaOf(f);
    const json = encodeDecodedRecord(
      meta,
      this.stamp,
      span.offset,
      r,
      span.offset < f.replayUntil,
      this.isoTimes,
    );
    const current = this.current;
    const batch = current?.fitsJson(json.length) ? current : this.open(3 * json.length);
    batch.addJson(key, json);
    batch.cover(f, f.generation, f.fileId as string, Math.min(span.offset, span.end), span.end);
    // The line ended in a newer file of the run (it straddled a rotation): that file's position too.
    const later = span.endsIn?.file;
    if (later?.fileId !== undefined && span.endsIn)
      batch.cover(later, later.generation, later.fileId, span.endsIn.end, span.endsIn.end, 0);
    if (batch.count >= this.limits.batchMaxRecords || batch.bytes >= this.limits.batchMaxBytes) this.seal();
  }

  /** Moves the batch being filled, if any, to `ready`. */
  seal(): void {
    if (this.current && this.current.count > 0) this.ready.push(this.current);
    this.current = undefined;
  }

  /** Takes the batches ready to send. */
  takeReady(): RecordBatch<TrackedFile>[] {
    return this.ready.splice(0);
  }

  /** A batch is done with (acknowledged or given up): its buffer may be reused. */
  release(batch: RecordBatch<TrackedFile>): void {
    if (batch.data.length === this.slabBytes && this.pool.length < 32) this.pool.push(batch.data);
  }

  private added(batch: RecordBatch<TrackedFile>, f: TrackedFile, offset: number, end: number): void {
    batch.cover(f, f.generation, f.fileId as string, offset, end);
    if (batch.count >= this.limits.batchMaxRecords || batch.bytes >= this.limits.batchMaxBytes) this.seal();
  }

  private batchFor(prefix: RecordPrefix, srcLength: number): RecordBatch<TrackedFile> {
    const batch = this.current;
    if (batch?.fits(prefix, srcLength)) return batch;
    return this.open(RecordBatch.sizeFor(prefix, srcLength));
  }

  /** Seals the batch being filled and starts one with room for `need` bytes. */
  private open(need: number): RecordBatch<TrackedFile> {
    this.seal();
    // A record too big for a pooled buffer (a huge line or multi-line record) gets one of its own.
    const data =
      need > this.slabBytes
        ? Buffer.allocUnsafe(need)
        : (this.pool.pop() ?? Buffer.allocUnsafe(this.slabBytes));
    const batch = new RecordBatch<TrackedFile>(data, this.limits.batchMaxRecords);
    this.current = batch;
    return batch;
  }

  private prefixOf(f: TrackedFile): RecordPrefix {
    const fileId = f.fileId as string;
    const cached = this.prefixes.get(f);
    if (
      cached &&
      cached.fileId === fileId &&
      cached.path === f.path &&
      cached.meta === f.meta &&
      cached.stamp === this.stamp
    )
      return cached.prefix;
    const { container, team } = f.meta;
    const prefix = recordPrefix({
      timestamp: this.stamp,
      host: this.limits.host,
      container,
      team,
      path: f.path,
      fileId,
    });
    this.prefixes.set(f, { stamp: this.stamp, fileId, path: f.path, meta: f.meta, prefix });
    return prefix;
  }

  private decodedMetaOf(f: TrackedFile): { json: string; key: Buffer } {
    const fileId = f.fileId as string;
    const cached = this.decodedMeta.get(f);
    if (cached && cached.fileId === fileId && cached.path === f.path && cached.meta === f.meta) return cached;
    const host = `"host":${JSON.stringify(this.limits.host)}`;
    const fields = f.meta.fields ? `,${f.meta.fields}` : "";
    const json = `${host}${fields},"file":${JSON.stringify(f.path)},"fileId":${JSON.stringify(fileId)}`;
    const entry = { fileId, path: f.path, meta: f.meta, json, key: Buffer.from(f.meta.key || fileId) };
    this.decodedMeta.set(f, entry);
    return entry;
  }

  /** Forgets what was cached for a file no longer read. */
  forget(f: TrackedFile): void {
    this.prefixes.delete(f);
    this.decodedMeta.delete(f);
  }
}
