import type { RuntimeLogRecord } from "../runtime-logs/record.js";

/**
 * The JSON value of a record decoded from a runtime's format (Docker json-file, CRI, the journal):
 *
 *     {"@timestamp","readAt","host","source",<the tree's metadata>,"file","fileId","offset",
 *      "stream"?,"time"?,"line","truncated"?,"droppedBytes"?,"partial"?,"error"?,"lines"?,
 *      "attrs"?,"replayed"?}
 *
 * `@timestamp` is the runtime's time of the line (in milliseconds, UTC) and `time` that time as
 * the runtime wrote it (nanoseconds, its offset); `readAt` is when the shipper read the line. A line
 * that was not of the runtime's format has no time of its own: its `@timestamp` is the read time,
 * `line` the raw line and `error` a stable code saying why.
 *
 * `meta`: the members from `host` to `fileId` (no braces), the same for every record of a file.
 */
export function encodeDecodedRecord(
  meta: string,
  readAt: string,
  offset: number,
  r: RuntimeLogRecord,
  replayed: boolean,
): string {
  const stamp = r.timeMs !== undefined ? new Date(r.timeMs).toISOString() : readAt;
  let s = `{"@timestamp":"${stamp}","readAt":"${readAt}",${meta},"offset":${offset}`;
  if (r.stream !== undefined) s += `,"stream":"${r.stream}"`;
  if (r.time !== undefined) s += `,"time":${JSON.stringify(r.time)}`;
  s += `,"line":${JSON.stringify(r.text)}`;
  if (r.truncated) s += `,"truncated":true,"droppedBytes":${r.droppedBytes ?? 0}`;
  if (r.partial) s += ',"partial":true';
  if (r.error !== undefined) s += `,"error":${JSON.stringify(r.error)}`;
  if (r.lines > 1) s += `,"lines":${r.lines}`;
  if (r.attrs !== undefined) s += `,"attrs":${JSON.stringify(r.attrs)}`;
  if (replayed) s += ',"replayed":true';
  return `${s}}`;
}
