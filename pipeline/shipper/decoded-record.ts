import type { HostLogRecord } from "../host-journal/journal-json.js";
import type { RuntimeLogRecord } from "../runtime-logs/record.js";

/** A decoded record: a runtime's line, or a journal entry with the journal's own fields. */
export type DecodedRecord = RuntimeLogRecord & Partial<Omit<HostLogRecord, keyof RuntimeLogRecord>>;

/**
 * `Date#toISOString` of milliseconds, the part up to the second built once per second: a record's
 * `@timestamp` is its runtime time, and a busy container writes thousands of lines within one
 * second, where `new Date(ms).toISOString()` per record was a visible share of the decoded
 * path's CPU (bench:pipeline stdout). Same output as `toISOString` for every instant, expanded years included:
 * only the milliseconds, always three digits, change within a second.
 */
export class IsoTimes {
  private second = Number.NaN;
  /** "YYYY-MM-DDTHH:MM:SS." of `second`. */
  private head = "";

  iso(ms: number): string {
    const second = Math.floor(ms / 1000);
    if (second !== this.second) {
      const whole = new Date(second * 1000).toISOString();
      this.head = whole.slice(0, -4);
      this.second = second;
    }
    const milli = ms - second * 1000;
    return `${this.head}${milli < 10 ? "00" : milli < 100 ? "0" : ""}${milli}Z`;
  }
}

/**
 * The JSON value of a record decoded from a runtime's format (Docker json-file, CRI, the journal):
 *
 *     {"@timestamp","readAt","host","source",<the tree's metadata>,"file","fileId","offset",
 *      "stream"?,"time"?,"line","truncated"?,"droppedBytes"?,"partial"?,"error"?,"lines"?,
 *      "attrs"?,"unit"?,"identifier"?,"priority"?,"pid"?,"transport"?,"replayed"?}
 *
 * `@timestamp` is the runtime's time of the line (in milliseconds, UTC) and `time` that time as
 * the runtime wrote it (nanoseconds, its offset); `readAt` is when the shipper read the line. A line
 * that was not of the runtime's format has no time of its own: its `@timestamp` is the read time,
 * `line` the raw line and `error` a stable code saying why.
 *
 * `meta`: the members from `host` to `fileId` (no braces), the same for every record of a file.
 * `times`: the writer's cache of `@timestamp` strings.
 */
export function encodeDecodedRecord(
  meta: string,
  readAt: string,
  offset: number,
  r: DecodedRecord,
  replayed: boolean,
  times: IsoTimes,
): string {
  const stamp = r.timeMs !== undefined ? times.iso(r.timeMs) : readAt;
  let s = `{"@timestamp":"${stamp}","readAt":"${readAt}",${meta},"offset":${offset}`;
  if (r.stream !== undefined) s += `,"stream":"${r.stream}"`;
  if (r.time !== undefined) s += `,"time":${JSON.stringify(r.time)}`;
  s += `,"line":${JSON.stringify(r.text)}`;
  if (r.truncated) s += `,"truncated":true,"droppedBytes":${r.droppedBytes ?? 0}`;
  if (r.partial) s += ',"partial":true';
  if (r.error !== undefined) s += `,"error":${JSON.stringify(r.error)}`;
  if (r.lines > 1) s += `,"lines":${r.lines}`;
  if (r.attrs !== undefined) s += `,"attrs":${JSON.stringify(r.attrs)}`;
  // The journal's (host logs).
  if (r.unit !== undefined) s += `,"unit":${JSON.stringify(r.unit)}`;
  if (r.identifier !== undefined) s += `,"identifier":${JSON.stringify(r.identifier)}`;
  if (r.priority !== undefined) s += `,"priority":${r.priority}`;
  if (r.pid !== undefined) s += `,"pid":${r.pid}`;
  if (r.transport !== undefined) s += `,"transport":${JSON.stringify(r.transport)}`;
  if (replayed) s += ',"replayed":true';
  return `${s}}`;
}
