import { isUtf8 } from "node:buffer";

/**
 * How JSON.stringify escapes each byte value below 0x80: 0 = copied as it is, 0x75 (`u`) = `\\u00XX`,
 * otherwise the letter after the backslash (`\\n`, `\\"`...).
 */
const ESCAPE = new Uint8Array(0x80);
for (let b = 0; b < 0x20; b++) ESCAPE[b] = 0x75;
for (const [b, letter] of [
  [8, "b"],
  [9, "t"],
  [10, "n"],
  [12, "f"],
  [13, "r"],
  [0x22, '"'],
  [0x5c, "\\"],
] as const)
  ESCAPE[b] = letter.charCodeAt(0);
const HEX = Buffer.from("0123456789abcdef");

/**
 * Writes a log line's raw bytes into `dst` at `pos` as a JSON string (quotes included) and returns
 * the position after it. The output is byte for byte what `JSON.stringify(bytes.toString("utf8"))`
 * encodes to in UTF-8, so records keep the format they had when they were built from strings;
 * written by hand because the shipper's hot path must not build a string (and then a Buffer) per
 * line. A line of valid UTF-8 is copied, with `"`, `\\` and control bytes escaped the way
 * JSON.stringify escapes them; a line with invalid UTF-8 (which decodes to U+FFFD per maximal
 * subpart) takes the string path. `dst` needs `maxJsonBytes(n)` free bytes.
 */
export function writeJsonBytes(dst: Buffer, pos: number, src: Buffer, start: number, end: number): number {
  const at = pos;
  let high = false;
  dst[pos++] = 0x22;
  // One pass: copy, escaping as JSON.stringify does; bytes >= 0x80 are copied and checked after.
  for (let i = start; i < end; i++) {
    const b = src[i] as number;
    if (b >= 0x80) {
      high = true;
      dst[pos++] = b;
      continue;
    }
    const esc = ESCAPE[b] as number;
    if (esc === 0) {
      dst[pos++] = b;
      continue;
    }
    dst[pos++] = 0x5c;
    if (esc !== 0x75) dst[pos++] = esc;
    else {
      // \u00XX, lower-case hex like JSON.stringify
      dst[pos++] = 0x75;
      dst[pos++] = 0x30;
      dst[pos++] = 0x30;
      dst[pos++] = HEX[b >> 4] as number;
      dst[pos++] = HEX[b & 15] as number;
    }
  }
  dst[pos++] = 0x22;
  // Invalid UTF-8 decodes to U+FFFD (per maximal subpart): only the string path reproduces that.
  if (high && !isUtf8(src.subarray(start, end)))
    return writeJsonText(dst, at, src.toString("utf8", start, end));
  return pos;
}

/** Writes `JSON.stringify(text)` as UTF-8 at `pos`; returns the position after it. */
export function writeJsonText(dst: Buffer, pos: number, text: string): number {
  return pos + dst.write(JSON.stringify(text), pos, "utf8");
}

/**
 * Upper bound of the JSON string for `n` source bytes: each byte becomes at most 6 bytes (`\u001f`;
 * an invalid byte becomes U+FFFD, 3 bytes), plus the quotes.
 */
export function maxJsonBytes(n: number): number {
  return 6 * n + 2;
}

/** Writes a non-negative integer's decimal digits at `pos`; returns the position after them. */
export function writeUint(dst: Buffer, pos: number, n: number): number {
  if (n > 0xffffffff) return pos + dst.write(String(n), pos, "latin1");
  let digits = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
  let at = pos + digits;
  let x = n;
  do {
    const q = Math.floor(x / 10);
    dst[--at] = 0x30 + x - q * 10;
    x = q;
  } while (x > 0);
  return pos + digits;
}
