/**
 * Decodes Docker's json-file log driver: `/var/lib/docker/containers/<id>/<id>-json.log`, one JSON
 * object per line, as dockerd writes it:
 *
 *     {"log":"hello\n","stream":"stdout","time":"2026-12-07T17:08:50.123456789Z"}
 *     {"log":"…","stream":"stderr","attrs":{"tag":"web"},"time":"2026-12-07T17:08:50.1Z"}
 *
 * - `log`: what the container wrote, ending with "\n" when the line is complete. dockerd reads a
 *   container's output into a 16 KiB buffer: a line longer than that becomes several entries, each
 *   16 KiB of the line's bytes, all with the first one's `time`; only the last one's `log` ends with
 *   "\n". So an entry whose `log` does not end with "\n" continues in the next entry of the same
 *   stream. stdout and stderr are copied by two goroutines into one file: their entries interleave,
 *   so pieces are joined per stream.
 * - dockerd splits at bytes, then encodes each entry on its own, writing every byte that is not part
 *   of a whole UTF-8 character as `\ufffd`: a character cut by a 16 KiB boundary is already U+FFFD
 *   in the file (one per byte of it) and no reader can restore it. This decoder joins what is
 *   written and adds no damage of its own.
 * - `stream`: "stdout" or "stderr". `time`: RFC 3339 with nanoseconds, UTC (`rfc3339.ts`).
 *   `attrs` (optional): string values from `--log-opt labels=…,env=…,tag`.
 * - A line's end "\r\n" is removed like "\n" (containerd and the shipper's line splitter do the
 *   same, so one line reads the same from every source); a "\r" elsewhere is kept.
 *
 * Feed the file's lines in order (without their "\n"), as strings or Buffers, one decoder per
 * container: a line's pieces can straddle a rotation (`-json.log` → `-json.log.1`), so keep the
 * decoder across it. When a container stops in the middle of a line, dockerd writes what it has as
 * an unfinished piece and nothing ends it; the next run appends to the same file, so its next line
 * on that stream would be joined to it: call `flush()` when the container stops.
 *
 * `boxscope ship` reads Docker's tree through it (pipeline/shipper/decoded-stream.ts).
 */
import { cutUtf8, PieceJoin, truncation, withoutCr } from "./joiner.js";
import { PieceDecoder } from "./piece-decoder.js";
import type { DecoderOptions, LogStream, RuntimeLogRecord } from "./record.js";
import { parseRfc3339Ms, Rfc3339Seconds } from "./rfc3339.js";

/**
 * Why a line was shipped raw:
 * - `docker_json_invalid`: not JSON, or JSON but not an object;
 * - `docker_json_bad_log`: `log` missing or not a string;
 * - `docker_json_bad_stream`: `stream` missing or not "stdout"/"stderr";
 * - `docker_json_bad_time`: `time` missing, not a string, or not an RFC 3339 instant;
 * - `docker_json_bad_attrs`: `attrs` present but not an object of strings.
 */
export type DockerJsonError =
  | "docker_json_invalid"
  | "docker_json_bad_log"
  | "docker_json_bad_stream"
  | "docker_json_bad_time"
  | "docker_json_bad_attrs";

export type DockerJsonRecord = RuntimeLogRecord<DockerJsonError>;

/** One well-formed entry. */
interface DockerJsonEntry {
  log: string;
  stream: LogStream;
  time: string;
  timeMs: number;
  attrs?: Readonly<Record<string, string>>;
}

function isStringRecord(value: unknown): value is Record<string, string> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  return Object.values(value).every((v) => typeof v === "string");
}

/** The entry in `raw`, or why it is not one. Never throws. */
export function parseDockerJsonEntry(raw: string): DockerJsonEntry | DockerJsonError {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    // SyntaxError, or a RangeError on absurd nesting: either way not a dockerd line.
    return "docker_json_invalid";
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "docker_json_invalid";
  const { log, stream, time, attrs } = value as Record<string, unknown>;
  if (typeof log !== "string") return "docker_json_bad_log";
  if (stream !== "stdout" && stream !== "stderr") return "docker_json_bad_stream";
  if (typeof time !== "string") return "docker_json_bad_time";
  const timeMs = parseRfc3339Ms(time);
  if (timeMs === undefined) return "docker_json_bad_time";
  if (attrs === undefined) return { log, stream, time, timeMs };
  if (!isStringRecord(attrs)) return "docker_json_bad_attrs";
  return { log, stream, time, timeMs, attrs };
}

/** A parsed entry as the decoder takes it: `log` split into its content and whether it ended the line. */
interface DockerJsonPiece {
  content: string;
  complete: boolean;
  stream: LogStream;
  time: string;
  timeMs: number;
  attrs?: Readonly<Record<string, string>> | undefined;
}

const LOG_HEAD = '{"log":"';
const STDOUT_MIDDLE = '","stream":"stdout","time":"';
const STDERR_MIDDLE = '","stream":"stderr","time":"';
const TAIL = '"}';
/** A character JSON does not allow unescaped in a string. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what it finds.
const CONTROL = /[\u0000-\u001f]/;

/** Whether the `"` at `at` is escaped: an odd run of backslashes before it. */
function escapedQuote(raw: string, at: number, from: number): boolean {
  let i = at - 1;
  while (i >= from && raw.charCodeAt(i) === 0x5c) i -= 1;
  return (at - 1 - i) % 2 === 1;
}

/**
 * The entry of a line in the exact layout dockerd writes without `attrs`,
 * `{"log":"…","stream":"stdout|stderr","time":"…"}`, read without `JSON.parse` of the whole object;
 * undefined for any other line, which `parseDockerJsonEntry` then decides. Hand-written because
 * `JSON.parse` per line (an object and three strings, then a slice to drop the "\n") was the
 * largest cost of shipping Docker logs (bench:pipeline stdout). It takes only what `JSON.parse`
 * reads to the same values: a `log` with no escape but the line's final `\n` is taken as it stands
 * when it holds no control character; any other escape is decoded by `JSON.parse` of that string
 * alone; the time must be an RFC 3339 instant, which holds no character JSON would escape.
 */
function fastPiece(raw: string, times: Rfc3339Seconds): DockerJsonPiece | undefined {
  if (!raw.startsWith(LOG_HEAD) || !raw.endsWith(TAIL)) return undefined;
  const from = LOG_HEAD.length;
  let end = raw.indexOf('"', from);
  while (end > 0 && escapedQuote(raw, end, from)) end = raw.indexOf('"', end + 1);
  if (end < 0) return undefined;
  const stream = raw.startsWith(STDOUT_MIDDLE, end)
    ? "stdout"
    : raw.startsWith(STDERR_MIDDLE, end)
      ? "stderr"
      : undefined;
  if (stream === undefined) return undefined;
  const timeStart = end + STDOUT_MIDDLE.length;
  if (timeStart > raw.length - TAIL.length) return undefined;
  const time = raw.slice(timeStart, raw.length - TAIL.length);
  const timeMs = times.parse(time);
  if (timeMs === undefined) return undefined;
  const backslash = raw.indexOf("\\", from);
  if (backslash < 0 || backslash > end) {
    const content = raw.slice(from, end);
    return CONTROL.test(content) ? undefined : { content, complete: false, stream, time, timeMs };
  }
  if (backslash === end - 2 && raw.charCodeAt(end - 1) === 0x6e) {
    const content = raw.slice(from, end - 2);
    return CONTROL.test(content) ? undefined : { content, complete: true, stream, time, timeMs };
  }
  let log: unknown;
  try {
    log = JSON.parse(raw.slice(from - 1, end + 1));
  } catch {
    return undefined;
  }
  if (typeof log !== "string") return undefined;
  const complete = log.endsWith("\n");
  return { content: complete ? log.slice(0, -1) : log, complete, stream, time, timeMs };
}

/** The entry of `raw` as the decoder takes it, or why it is not one. */
function pieceOf(raw: string, times: Rfc3339Seconds): DockerJsonPiece | DockerJsonError {
  const fast = fastPiece(raw, times);
  if (fast) return fast;
  const entry = parseDockerJsonEntry(raw);
  if (typeof entry === "string") return entry;
  const complete = entry.log.endsWith("\n");
  return {
    content: complete ? entry.log.slice(0, -1) : entry.log,
    complete,
    stream: entry.stream,
    time: entry.time,
    timeMs: entry.timeMs,
    attrs: entry.attrs,
  };
}

export class DockerJsonDecoder extends PieceDecoder<DockerJsonError> {
  private readonly times = new Rfc3339Seconds();

  constructor(options?: DecoderOptions) {
    super(options, true);
  }

  /**
   * Takes the next line of the file (without its "\n"). Returns the record it completes: the line
   * itself, the line its piece finishes, or an `error` record of it; undefined when it is a piece of
   * a line still going on. Never throws.
   */
  push(line: string | Buffer): DockerJsonRecord | undefined {
    this.stats.lines += 1;
    const raw = typeof line === "string" ? line : line.toString("utf8");
    const entry = pieceOf(raw, this.times);
    if (typeof entry === "string") {
      const cut = cutUtf8(raw, this.maxBytes);
      return this.emit({ text: cut.text, lines: 1, error: entry, ...truncation(cut.droppedBytes) });
    }
    const { content, complete } = entry;
    const unfinished = this.pending.get(entry.stream);
    if (complete && unfinished === undefined) {
      // The common case, a line in one entry: no join, no copy. A string of n UTF-16 units is at
      // most 3n UTF-8 bytes: a short line needs no byte count.
      const text = withoutCr(content);
      const cut = text.length * 3 <= this.maxBytes ? undefined : cutUtf8(text, this.maxBytes);
      const record: DockerJsonRecord = {
        time: entry.time,
        timeMs: entry.timeMs,
        stream: entry.stream,
        text: cut ? cut.text : text,
        lines: 1,
      };
      if (cut && cut.droppedBytes > 0) {
        record.truncated = true;
        record.droppedBytes = cut.droppedBytes;
      }
      if (entry.attrs) record.attrs = entry.attrs;
      return this.emit(record);
    }
    const join =
      unfinished ?? new PieceJoin(entry.time, entry.timeMs, entry.stream, this.maxBytes, entry.attrs);
    return this.addPiece(join, entry.stream, Buffer.from(content), 0, !complete);
  }
}
