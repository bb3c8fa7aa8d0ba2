/**
 * Writes container output the way the runtimes write it to their log files, for the decoders'
 * tests (`pipeline/runtime-logs/`). Written from the runtimes' documented behaviour, so that the
 * tests feed what a real host holds:
 * - dockerd (json-file): its copier reads a stream into a 16 KiB buffer and logs a full buffer with
 *   no newline as a partial message; every piece of a line carries the first piece's time; json-file
 *   appends "\n" to the last piece's `log`; its JSON string encoder escapes `"` `\` as `\"` `\\`,
 *   "\n" "\r" as `\n` `\r`, other control bytes and `<` `>` `&` as `\u00XX`, U+2028/U+2029 as
 *   `\u2028`/`\u2029`, and writes each byte that is not part of a valid UTF-8 character as `\ufffd`.
 * - containerd (CRI): `<time> <stream> <P|F> <bytes>`, a line longer than `max_container_log_line_size`
 *   (16 KiB) cut into `P` pieces of exactly that many bytes, the rest in an `F` piece; the line end
 *   ("\n" or "\r\n") is not written.
 */

export const RUNTIME_PIECE_BYTES = 16 * 1024;

/** Length of the valid UTF-8 character at `bytes[i]` (Go's `utf8.DecodeRune` rules), or 0 if there is none. */
function utf8CharLength(bytes: Buffer, i: number): number {
  const b = bytes[i] ?? 0;
  const cont = (j: number, lo = 0x80, hi = 0xbf) => {
    const c = bytes[i + j];
    return c !== undefined && c >= lo && c <= hi;
  };
  if (b >= 0xc2 && b <= 0xdf) return cont(1) ? 2 : 0;
  if (b >= 0xe0 && b <= 0xef) {
    const lo = b === 0xe0 ? 0xa0 : 0x80;
    const hi = b === 0xed ? 0x9f : 0xbf;
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (b >= 0xf0 && b <= 0xf4) {
    const lo = b === 0xf0 ? 0x90 : 0x80;
    const hi = b === 0xf4 ? 0x8f : 0xbf;
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

/** `bytes` as the JSON string dockerd's json-file encoder writes. */
export function dockerdJsonString(bytes: Buffer): string {
  let out = '"';
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i] ?? 0;
    if (b < 0x80) {
      if (b === 0x22 || b === 0x5c) out += `\\${String.fromCharCode(b)}`;
      else if (b === 0x0a) out += "\\n";
      else if (b === 0x0d) out += "\\r";
      else if (b < 0x20 || b === 0x3c || b === 0x3e || b === 0x26)
        out += `\\u00${b.toString(16).padStart(2, "0")}`;
      else out += String.fromCharCode(b);
      i += 1;
      continue;
    }
    const length = utf8CharLength(bytes, i);
    if (length === 0) {
      out += "\\ufffd";
      i += 1;
      continue;
    }
    const char = bytes.toString("utf8", i, i + length);
    if (char === "\u2028") out += "\\u2028";
    else if (char === "\u2029") out += "\\u2029";
    else out += char;
    i += length;
  }
  return `${out}"`;
}

export interface DockerdLineOptions {
  stream?: "stdout" | "stderr";
  /** RFC3339Nano as Go writes it: UTC, trailing zeros of the fraction trimmed. */
  time?: string;
  attrs?: Record<string, string>;
  pieceBytes?: number;
}

/** The json-file lines (without their "\n") dockerd writes for one line of output (`line` without its "\n"). */
export function dockerdLines(line: Buffer | string, options: DockerdLineOptions = {}): string[] {
  const bytes = typeof line === "string" ? Buffer.from(line) : line;
  const stream = options.stream ?? "stdout";
  const time = options.time ?? "2026-12-07T17:08:50.123456789Z";
  const pieceBytes = options.pieceBytes ?? RUNTIME_PIECE_BYTES;
  const attrs = options.attrs ? `,"attrs":${JSON.stringify(options.attrs)}` : "";
  const entry = (log: Buffer) =>
    `{"log":${dockerdJsonString(log)},"stream":${JSON.stringify(stream)}${attrs},"time":"${time}"}`;
  const out: string[] = [];
  let at = 0;
  // A buffer filled without a newline is a partial piece; a line of exactly N pieces ends with an empty one.
  for (; at + pieceBytes <= bytes.length; at += pieceBytes)
    out.push(entry(bytes.subarray(at, at + pieceBytes)));
  out.push(entry(Buffer.concat([bytes.subarray(at), Buffer.from("\n")])));
  return out;
}

export interface ContainerdLineOptions {
  stream?: "stdout" | "stderr";
  /** The time of piece `i` (containerd takes the clock for each piece), RFC3339Nano in the host's zone. */
  time?: (piece: number) => string;
  maxLen?: number;
}

/** The CRI log lines (without their "\n") containerd writes for one line of output (without its line end). */
export function containerdLines(line: Buffer | string, options: ContainerdLineOptions = {}): Buffer[] {
  const bytes = typeof line === "string" ? Buffer.from(line) : line;
  const stream = options.stream ?? "stdout";
  const time = options.time ?? ((i: number) => `2026-12-07T18:08:50.1234567${i % 10}+01:00`);
  const maxLen = options.maxLen ?? RUNTIME_PIECE_BYTES;
  const out: Buffer[] = [];
  const piece = (i: number, tag: "P" | "F", text: Buffer) =>
    Buffer.concat([Buffer.from(`${time(i)} ${stream} ${tag} `), text]);
  let at = 0;
  // A piece is cut only once the line is known to be longer than maxLen: no empty F piece.
  for (; bytes.length - at > maxLen; at += maxLen)
    out.push(piece(out.length, "P", bytes.subarray(at, at + maxLen)));
  out.push(piece(out.length, "F", bytes.subarray(at)));
  return out;
}
