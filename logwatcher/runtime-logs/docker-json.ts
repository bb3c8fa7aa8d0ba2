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
 * Not yet used by `boxscope ship` or `boxscope index`.
 */
import { cutUtf8, PieceJoin, truncation, withoutCr } from "./joiner.js";
import { PieceDecoder } from "./piece-decoder.js";
import type { DecoderOptions, LogStream, RuntimeLogRecord } from "./record.js";
import { parseRfc3339Ms } from "./rfc3339.js";

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

export class DockerJsonDecoder extends PieceDecoder<DockerJsonError> {
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
    const entry = parseDockerJsonEntry(raw);
    if (typeof entry === "string") {
      const cut = cutUtf8(raw, this.maxBytes);
      return this.emit({ text: cut.text, lines: 1, error: entry, ...truncation(cut.droppedBytes) });
    }
    const complete = entry.log.endsWith("\n");
    const content = complete ? entry.log.slice(0, -1) : entry.log;
    const unfinished = this.pending.get(entry.stream);
    if (complete && unfinished === undefined) {
      // The common case, a line in one entry: no join, no copy.
      const cut = cutUtf8(withoutCr(content), this.maxBytes);
      return this.emit({
        time: entry.time,
        timeMs: entry.timeMs,
        stream: entry.stream,
        text: cut.text,
        lines: 1,
        ...truncation(cut.droppedBytes),
        ...(entry.attrs ? { attrs: entry.attrs } : {}),
      });
    }
    const join =
      unfinished ?? new PieceJoin(entry.time, entry.timeMs, entry.stream, this.maxBytes, entry.attrs);
    return this.addPiece(join, entry.stream, Buffer.from(content), 0, !complete);
  }
}
