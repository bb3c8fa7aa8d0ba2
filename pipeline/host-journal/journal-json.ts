/**
 * Decodes the lines of the host journal file the follower writes (`follower.ts`): one entry per
 * line as `journalctl --output=json` prints it, for example
 *
 *     {"__CURSOR":"s=…;i=2a;b=…;m=…;t=…;x=…","__REALTIME_TIMESTAMP":"1733600000123456",
 *      "__MONOTONIC_TIMESTAMP":"…","_BOOT_ID":"…","MESSAGE":"Started nginx.service.","PRIORITY":"6",
 *      "SYSLOG_IDENTIFIER":"systemd","_SYSTEMD_UNIT":"init.scope","_PID":"1","_TRANSPORT":"journal"}
 *
 * (on one line; the order of the fields is journalctl's, not fixed). What journalctl's JSON holds:
 * - Every value is a string, even numbers (`PRIORITY`, `_PID`, `__REALTIME_TIMESTAMP`, which is
 *   microseconds since the Unix epoch as digits).
 * - A value that is not valid UTF-8 (or holds bytes journalctl will not print as text) is an array
 *   of its byte values, e.g. `"MESSAGE":[98,105,110,255]`; such bytes are decoded as UTF-8 here,
 *   each invalid byte becoming U+FFFD, as the other decoders do.
 * - A field an entry has more than once is an array of its values (each a string or a byte array);
 *   for MESSAGE the values are joined with "\n" so none is lost, for the other fields the first is
 *   taken.
 * - A value over 4096 bytes is `null` unless journalctl runs with `--all` (the follower passes it);
 *   a null or missing MESSAGE becomes "".
 * - The follower cuts an entry whose line would be longer than its `maxLineBytes` by cutting its
 *   MESSAGE and saying how many bytes it left out in `_BOXSCOPE_DROPPED_BYTES` (see
 *   `FOLLOWER_DROPPED_BYTES_FIELD`): such a record comes out `truncated` with those bytes counted.
 *
 * One line is always one record (journal entries are never split), so `push` returns a record for
 * every line and there is nothing to flush. The record has no `stream`. `boxscope ship` reads the
 * follower's file through it (pipeline/shipper/decoded-stream.ts).
 */
import { cutUtf8, truncation, utf8CutPoint } from "../runtime-logs/joiner.js";
import {
  countRecord,
  type DecoderOptions,
  type DecoderStats,
  newDecoderStats,
  type RuntimeLogRecord,
  resolveMaxRecordBytes,
} from "../runtime-logs/record.js";

/**
 * Why a line was shipped raw:
 * - `journal_json_invalid`: not JSON, or JSON but not an object;
 * - `journal_bad_time`: `__REALTIME_TIMESTAMP` missing or not microseconds (digits) up to the year 9999;
 * - `journal_bad_message`: `MESSAGE` neither a string, a byte array, null, nor an array of those.
 */
export type JournalJsonError = "journal_json_invalid" | "journal_bad_time" | "journal_bad_message";

/** One journal entry as a log record: the runtime decoders' fields and the journal's own. */
export interface HostLogRecord extends RuntimeLogRecord<JournalJsonError> {
  /** `_SYSTEMD_UNIT`: the system unit that logged, e.g. "nginx.service". */
  unit?: string;
  /** `SYSLOG_IDENTIFIER`: the program's name as it logs (syslog's tag), e.g. "sshd". */
  identifier?: string;
  /** `PRIORITY`: syslog severity, 0 (emerg) to 7 (debug). */
  priority?: number;
  /** `_PID`: the process that logged. */
  pid?: number;
  /** `_TRANSPORT`: how the entry reached journald: journal, syslog, stdout, kernel, audit, driver. */
  transport?: string;
  /** `__CURSOR`: the entry's position in the journal (what `journalctl --after-cursor` takes). */
  cursor?: string;
}

/** The field the follower adds to an entry it cut: how many bytes of MESSAGE it left out (digits). */
export const FOLLOWER_DROPPED_BYTES_FIELD = "_BOXSCOPE_DROPPED_BYTES";

/** 9999-12-31T23:59:59.999999Z in microseconds: RFC 3339 has four-digit years. */
const MAX_REALTIME_US = 253402300799999999n;

/**
 * RFC 3339 time (UTC, microseconds) and epoch milliseconds of `__REALTIME_TIMESTAMP`, or undefined
 * when it is not a string of digits within years 1970-9999.
 */
export function journalTime(value: unknown): { time: string; timeMs: number } | undefined {
  if (typeof value !== "string" || !/^\d{1,18}$/.test(value)) return undefined;
  const us = BigInt(value);
  if (us > MAX_REALTIME_US) return undefined;
  const timeMs = Number(us / 1000n);
  const micros = String(us % 1_000_000n).padStart(6, "0");
  // toISOString: "YYYY-MM-DDTHH:MM:SS.mmmZ"; the seconds part is the same at ms and µs precision.
  const time = `${new Date(timeMs).toISOString().slice(0, 19)}.${micros}Z`;
  return { time, timeMs };
}

/** A byte array as journalctl prints one: integers 0-255. */
function isByteArray(value: unknown[]): value is number[] {
  return value.every((b) => typeof b === "number" && Number.isInteger(b) && b >= 0 && b <= 255);
}

/** The bytes of one field value (a string or a byte array), or undefined for anything else. */
function valueBytes(value: unknown): Buffer | undefined {
  if (typeof value === "string") return Buffer.from(value);
  if (Array.isArray(value) && isByteArray(value)) return Buffer.from(value);
  return undefined;
}

/**
 * MESSAGE's bytes: "" for null or missing, one value's bytes, or the values of a repeated field
 * joined with "\n". An empty array is taken as no bytes (journalctl prints an empty value as "").
 * Undefined when it is none of those.
 */
export function journalMessageBytes(value: unknown): Buffer | undefined {
  if (value === null || value === undefined) return Buffer.alloc(0);
  const single = valueBytes(value);
  if (single !== undefined) return single;
  if (!Array.isArray(value)) return undefined;
  const parts: Buffer[] = [];
  for (const v of value) {
    const b = v === null ? Buffer.alloc(0) : valueBytes(v);
    if (b === undefined) return undefined;
    if (parts.length > 0) parts.push(Buffer.from("\n"));
    parts.push(b);
  }
  return Buffer.concat(parts);
}

/** A metadata field as text: a string, the first of repeated values, a byte array decoded. */
function fieldText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (!Array.isArray(value) || value.length === 0) return undefined;
  if (isByteArray(value)) return Buffer.from(value).toString("utf8");
  return fieldText(value[0]);
}

/** A field of digits within `max` as a number. */
function fieldInt(value: unknown, max: number): number | undefined {
  const text = fieldText(value);
  if (text === undefined || !/^\d{1,10}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= max ? n : undefined;
}

export class JournalJsonDecoder {
  readonly stats: DecoderStats = newDecoderStats();
  private readonly maxBytes: number;

  constructor(options?: DecoderOptions) {
    this.maxBytes = resolveMaxRecordBytes(options);
  }

  /** Takes the next line of the file (without its "\n") and returns its record. Never throws. */
  push(line: string | Buffer): HostLogRecord {
    this.stats.lines += 1;
    const raw = typeof line === "string" ? line : line.toString("utf8");
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      // SyntaxError, or a RangeError on absurd nesting: either way not a journalctl line.
      return this.error(raw, "journal_json_invalid");
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      return this.error(raw, "journal_json_invalid");
    }
    const entry = value as Record<string, unknown>;
    const when = journalTime(entry.__REALTIME_TIMESTAMP);
    if (when === undefined) return this.error(raw, "journal_bad_time");
    const bytes = journalMessageBytes(entry.MESSAGE);
    if (bytes === undefined) return this.error(raw, "journal_bad_message");
    // One line end, as the shipper's files lose theirs (programs often log "text\n").
    const length = bytes.length > 0 && bytes[bytes.length - 1] === 0x0a ? bytes.length - 1 : bytes.length;
    const end = length <= this.maxBytes ? length : utf8CutPoint(bytes.subarray(0, length), this.maxBytes);
    const cutByFollower = fieldInt(entry[FOLLOWER_DROPPED_BYTES_FIELD], Number.MAX_SAFE_INTEGER) ?? 0;
    const record: HostLogRecord = {
      time: when.time,
      timeMs: when.timeMs,
      text: bytes.toString("utf8", 0, end),
      lines: 1,
      ...truncation(length - end + cutByFollower),
    };
    const unit = fieldText(entry._SYSTEMD_UNIT);
    if (unit !== undefined) record.unit = unit;
    const identifier = fieldText(entry.SYSLOG_IDENTIFIER);
    if (identifier !== undefined) record.identifier = identifier;
    const priority = fieldInt(entry.PRIORITY, 7);
    if (priority !== undefined) record.priority = priority;
    const pid = fieldInt(entry._PID, 0xffffffff);
    if (pid !== undefined) record.pid = pid;
    const transport = fieldText(entry._TRANSPORT);
    if (transport !== undefined) record.transport = transport;
    const cursor = fieldText(entry.__CURSOR);
    if (cursor !== undefined) record.cursor = cursor;
    return this.emit(record);
  }

  private error(raw: string, code: JournalJsonError): HostLogRecord {
    const cut = cutUtf8(raw, this.maxBytes);
    return this.emit({ text: cut.text, lines: 1, error: code, ...truncation(cut.droppedBytes) });
  }

  private emit(record: HostLogRecord): HostLogRecord {
    countRecord(this.stats, record);
    return record;
  }
}
