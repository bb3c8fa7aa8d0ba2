import type { EncodedBatch } from "../kafka/types.js";
import { maxJsonBytes, writeJsonBytes, writeJsonText, writeUint } from "./json-bytes.js";

/** What a batch covers of one file generation: acknowledged together, in read order. */
export interface FileSpan<F> {
  file: F;
  generation: number;
  fileId: string;
  records: number;
  /** End offset of the span's last record (the position once acknowledged). */
  end: number;
  /** File bytes the span's records cover. */
  bytes: number;
}

/** The fields a record's JSON starts with, serialized once per file and read pass. */
export interface RecordPrefix {
  /** `{"@timestamp":…,"host":…,"container":…,"file":…,"fileId":…,"offset":` */
  json: Buffer;
  /** The partitioning key (container id, or the file id when the container is unknown). */
  key: Buffer;
}

/** Optional record flags, written after `line` in this order (absent when false / 1). */
export interface RecordFlags {
  truncated: boolean;
  replayed?: boolean;
  lines: number;
}

const LINE_FIELD = Buffer.from(',"line":');
const TRUNCATED_FIELD = Buffer.from(',"truncated":true');
const REPLAYED_FIELD = Buffer.from(',"replayed":true');
const LINES_FIELD = Buffer.from(',"lines":');
/** Room for the offset digits, `,"line":`, the flags and `}` around a record's prefix and line. */
const RECORD_OVERHEAD = 96;

/**
 * One batch of records for Kafka, built in place: each record's JSON value is written straight into
 * one buffer (`data`) behind the previous one, from the file's bytes, so a line costs no string and
 * no object. The batch also remembers, per file generation, what its acknowledgement covers.
 */
export class RecordBatch<F> implements EncodedBatch {
  data: Buffer;
  /** Room for every record's end; `ends` is its used part. */
  private readonly endsRoom: Uint32Array;
  readonly keys: Buffer[] = [];
  private readonly keyRunEnds: number[] = [];
  readonly spans: FileSpan<F>[] = [];
  /** Bytes of values and keys so far (the batch size limit applies to it). */
  bytes = 0;
  /** Where the next record's value starts in `data`. */
  pos = 0;
  /** Records so far. */
  count = 0;

  /** `maxRecords`: the most records the batch will take (its builder seals it there). */
  constructor(data: Buffer, maxRecords: number) {
    this.data = data;
    this.endsRoom = new Uint32Array(maxRecords);
  }

  get ends(): Uint32Array {
    return this.endsRoom.subarray(0, this.count);
  }

  get keyEnds(): Uint32Array {
    return Uint32Array.from(this.keyRunEnds);
  }

  /** Where the native encoder writes the ends of the records it adds (see `addEncoded`). */
  get freeEnds(): Uint32Array {
    return this.endsRoom.subarray(this.count);
  }

  /** Whether a record of `srcLength` source bytes (or UTF-16 units) surely fits. */
  fits(prefix: RecordPrefix, srcLength: number): boolean {
    return this.pos + prefix.json.length + RECORD_OVERHEAD + maxJsonBytes(srcLength) <= this.data.length;
  }

  /** Bytes a buffer needs to hold one such record alone. */
  static sizeFor(prefix: RecordPrefix, srcLength: number): number {
    return prefix.json.length + RECORD_OVERHEAD + maxJsonBytes(srcLength);
  }

  /** Appends a record whose line is `src[start, stop)` (raw bytes); the caller checked `fits`. */
  addBytes(
    prefix: RecordPrefix,
    offset: number,
    src: Buffer,
    start: number,
    stop: number,
    flags: RecordFlags,
  ): void {
    let pos = this.head(prefix, offset);
    pos = writeJsonBytes(this.data, pos, src, start, stop);
    this.tail(prefix, pos, flags);
  }

  /** Appends a record whose line is `text` (a joined multi-line record); the caller checked `fits`. */
  addText(prefix: RecordPrefix, offset: number, text: string, flags: RecordFlags): void {
    let pos = this.head(prefix, offset);
    pos = writeJsonText(this.data, pos, text);
    this.tail(prefix, pos, flags);
  }

  /** Whether a record of `jsonLength` UTF-16 units of JSON text surely fits. */
  fitsJson(jsonLength: number): boolean {
    return this.pos + 3 * jsonLength <= this.data.length;
  }

  /** Appends a record whose whole JSON value is `json` (a decoded record); the caller checked `fitsJson`. */
  addJson(key: Buffer, json: string): void {
    const pos = this.pos + this.data.write(json, this.pos, "utf8");
    this.bytes += pos - this.pos + key.length;
    this.pos = pos;
    this.endsRoom[this.count++] = pos;
    this.keyed(key);
  }

  /**
   * Takes `count` records the native encoder wrote at `pos` (their ends already in `freeEnds`),
   * all with partitioning key `key`; `to` is the position after the last one.
   */
  addEncoded(key: Buffer, count: number, to: number): void {
    this.count += count;
    this.keyed(key);
    this.bytes += to - this.pos + count * key.length;
    this.pos = to;
  }

  /** The records up to `count` have `key`: extends the last key run, or starts one. */
  private keyed(key: Buffer): void {
    const runs = this.keyRunEnds.length;
    if (runs > 0 && this.keys[runs - 1] === key) this.keyRunEnds[runs - 1] = this.count;
    else {
      this.keys.push(key);
      this.keyRunEnds.push(this.count);
    }
  }

  /**
   * Counts `records` records of file bytes [offset, end) into the span of their file generation
   * (a new span when the file changes).
   */
  cover(file: F, generation: number, fileId: string, offset: number, end: number, records = 1): void {
    const last = this.spans[this.spans.length - 1];
    if (last && last.file === file && last.generation === generation && last.fileId === fileId) {
      last.records += records;
      last.end = end;
      last.bytes += end - offset;
    } else this.spans.push({ file, generation, fileId, records, end, bytes: end - offset });
  }

  private head(prefix: RecordPrefix, offset: number): number {
    const d = this.data;
    let pos = this.pos + prefix.json.copy(d, this.pos);
    pos = writeUint(d, pos, offset);
    return pos + LINE_FIELD.copy(d, pos);
  }

  private tail(prefix: RecordPrefix, pos: number, flags: RecordFlags): void {
    const d = this.data;
    if (flags.truncated) pos += TRUNCATED_FIELD.copy(d, pos);
    if (flags.replayed) pos += REPLAYED_FIELD.copy(d, pos);
    if (flags.lines > 1) {
      pos += LINES_FIELD.copy(d, pos);
      pos = writeUint(d, pos, flags.lines);
    }
    d[pos++] = 0x7d; // }
    this.bytes += pos - this.pos + prefix.key.length;
    this.pos = pos;
    this.endsRoom[this.count++] = pos;
    this.keyed(prefix.key);
  }
}

/** The per-file fields of every record (recordPrefix), named: all are strings. */
export interface RecordPrefixFields {
  /** The read pass's `@timestamp`. */
  timestamp: string;
  host: string;
  /** FileMeta.container; "" when unknown (the partitioning key is then the file id). */
  container: string;
  /** The container's team; "" when unknown (no `team` field). */
  team: string;
  path: string;
  fileId: string;
}

/** Builds a file's record prefix (the per-file fields of every record, as JSON). */
export function recordPrefix({
  timestamp,
  host,
  container,
  team,
  path,
  fileId,
}: RecordPrefixFields): RecordPrefix {
  const teamField = team ? `,"team":${JSON.stringify(team)}` : "";
  const json = `{"@timestamp":${JSON.stringify(timestamp)},"host":${JSON.stringify(host)},"container":${JSON.stringify(container)}${teamField},"file":${JSON.stringify(path)},"fileId":${JSON.stringify(fileId)},"offset":`;
  return { json: Buffer.from(json), key: Buffer.from(container || fileId) };
}
