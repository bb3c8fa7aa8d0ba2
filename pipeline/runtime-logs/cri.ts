/**
 * Decodes Kubernetes CRI container logs: `/var/log/pods/<namespace>_<pod>_<uid>/<container>/<restart>.log`
 * (see `cri-path.ts`), written by the runtime (containerd, CRI-O), one piece per line:
 *
 *     2026-12-07T17:08:50.123456789+01:00 stdout F hello world
 *     2026-12-07T17:08:50.123459Z stderr P first 16 KiB of a long line…
 *     2026-12-07T17:08:50.12346Z stderr F …its end
 *     2026-12-07T17:08:51Z stdout F␠            (an empty line: the space after the tag is there)
 *
 * - `<time> <stream> <tags> <text>`, single spaces. `time`: RFC 3339 with up to 9 fraction digits
 *   (Go's `RFC3339Nano`, which trims trailing zeros) and `Z` or the host's offset (`rfc3339.ts`).
 *   `stream`: "stdout" or "stderr". `tags`: ":"-separated, the first `P` (partial) or `F` (full);
 *   later tags are ignored, as kubelet does, for the format's forward compatibility. `text`:
 *   everything after the third space, bytes as the container wrote them, without the line end
 *   (containerd drops "\r\n" as well as "\n"; a "\r" elsewhere stays).
 * - The runtime cuts a line longer than its limit (containerd's `max_container_log_line_size`,
 *   16 KiB by default) into `P` pieces ended by an `F` piece, each with its own time. It cuts at a
 *   byte count, so a UTF-8 character can straddle two pieces: pieces are joined as bytes and decoded
 *   once (`joiner.ts`), which is why Buffers, not strings, should be pushed. stdout and stderr pieces
 *   interleave in one file: they are joined per stream. The record's time is its first piece's.
 *   When the container's output ends without a newline, containerd writes the rest as a `P` piece
 *   and no `F` follows: `flush()` at the end of the file emits it, flagged `partial`.
 * - What kubelet's own reader (`kubectl logs`, k8s.io/kubernetes pkg/kubelet/kuberuntime/logs)
 *   accepts, and where this decoder differs: kubelet requires the tags field (a line with fewer than
 *   three spaces is an error to it too) but takes any first tag other than `P` as full. The very first
 *   CRI runtimes (cri-containerd before tags were added) wrote `<time> <stream> <text>`; kubelet
 *   would read the text's first word as a tag and drop it. Here a first tag other than `P` or `F`
 *   makes the line `cri_bad_tag`, shipped raw: nothing of it is lost or misread.
 *
 * Feed one decoder per container across rotations (`<restart>.log` → `<restart>.log.<time>`): a
 * line's pieces can straddle one. `boxscope ship` reads the pods' tree through it
 * (pipeline/shipper/decoded-stream.ts).
 */

import { cutUtf8, PieceJoin, truncation, utf8CutPoint } from "./joiner.js";
import { PieceDecoder } from "./piece-decoder.js";
import type { DecoderOptions, LogStream, RuntimeLogRecord } from "./record.js";
import { parseRfc3339Ms, Rfc3339Seconds } from "./rfc3339.js";

/**
 * Why a line was shipped raw:
 * - `cri_malformed`: fewer than three spaces (time, stream or tags missing);
 * - `cri_bad_time`: the first field is not an RFC 3339 instant;
 * - `cri_bad_stream`: the second field is not "stdout" or "stderr";
 * - `cri_bad_tag`: the first tag is not `P` or `F`.
 */
export type CriError = "cri_malformed" | "cri_bad_time" | "cri_bad_stream" | "cri_bad_tag";

export type CriRecord = RuntimeLogRecord<CriError>;

/** One well-formed line: its fields, and where its text starts in the line's bytes. */
interface CriPiece {
  time: string;
  timeMs: number;
  stream: LogStream;
  partial: boolean;
  textStart: number;
}

const SPACE = 0x20;
/** "2006-01-02T15:04:05.999999999-07:00": no RFC 3339 timestamp is longer, so no longer field is decoded. */
const MAX_TIME_LENGTH = 35;

/**
 * The fields of `line`, or why it is not a CRI line. Never throws. `times`: a decoder's cache of
 * its runtime's timestamps (the same result, parsed faster).
 */
export function parseCriPiece(line: Buffer, times?: Rfc3339Seconds): CriPiece | CriError {
  const afterTime = line.indexOf(SPACE);
  if (afterTime < 0) return "cri_malformed";
  if (afterTime > MAX_TIME_LENGTH) return "cri_bad_time";
  // latin1: one character per byte; a non-ASCII byte then fails the timestamp's pattern.
  const time = line.toString("latin1", 0, afterTime);
  const timeMs = times ? times.parse(time) : parseRfc3339Ms(time);
  if (timeMs === undefined) return "cri_bad_time";
  const afterStream = line.indexOf(SPACE, afterTime + 1);
  if (afterStream < 0) return "cri_malformed";
  const stream = afterStream - afterTime - 1 === 6 ? line.toString("latin1", afterTime + 1, afterStream) : "";
  if (stream !== "stdout" && stream !== "stderr") return "cri_bad_stream";
  const afterTags = line.indexOf(SPACE, afterStream + 1);
  if (afterTags < 0) return "cri_malformed";
  const first = line[afterStream + 1];
  const tagEnd = afterStream + 2;
  // The first tag is one letter, followed by the end of the tags or by ":" and further tags.
  if ((first !== 0x50 && first !== 0x46) || (tagEnd !== afterTags && line[tagEnd] !== 0x3a)) {
    return "cri_bad_tag";
  }
  return { time, timeMs, stream, partial: first === 0x50, textStart: afterTags + 1 };
}

/** Where the text `bytes[start, …)` ends when held to `maxBytes` bytes, at a character boundary. */
function cutBytes(bytes: Buffer, start: number, maxBytes: number): number {
  if (bytes.length - start <= maxBytes) return bytes.length;
  return start + utf8CutPoint(bytes.subarray(start), maxBytes);
}

export class CriDecoder extends PieceDecoder<CriError> {
  private readonly times = new Rfc3339Seconds();

  constructor(options?: DecoderOptions) {
    super(options, false);
  }

  /**
   * Takes the next line of the file (without its "\n"). Returns the record it completes: the line
   * itself (`F` with nothing pending), the line its `F` piece finishes, or an `error` record of it;
   * undefined for a `P` piece. A string is taken as UTF-8; pass the file's bytes so that a character
   * split between pieces survives. Never throws.
   */
  push(line: string | Buffer): CriRecord | undefined {
    this.stats.lines += 1;
    const bytes = typeof line === "string" ? Buffer.from(line) : line;
    const piece = parseCriPiece(bytes, this.times);
    if (typeof piece === "string") {
      const cut = cutUtf8(bytes.toString("utf8"), this.maxBytes);
      return this.emit({ text: cut.text, lines: 1, error: piece, ...truncation(cut.droppedBytes) });
    }
    const unfinished = this.pending.get(piece.stream);
    if (!piece.partial && unfinished === undefined) {
      // The common case, a line in one piece: decoded straight from the input, no join.
      const end = cutBytes(bytes, piece.textStart, this.maxBytes);
      return this.emit({
        time: piece.time,
        timeMs: piece.timeMs,
        stream: piece.stream,
        text: bytes.toString("utf8", piece.textStart, end),
        lines: 1,
        ...truncation(bytes.length - end),
      });
    }
    const join = unfinished ?? new PieceJoin(piece.time, piece.timeMs, piece.stream, this.maxBytes);
    return this.addPiece(join, piece.stream, bytes, piece.textStart, piece.partial);
  }
}
