import { isUtf8 } from "node:buffer";
import { utf8CutPoint } from "../runtime-logs/joiner.js";
import { FOLLOWER_DROPPED_BYTES_FIELD, journalMessageBytes } from "./journal-json.js";

const NEWLINE = 0x0a;

/** What became of over-long entries (for the follower's stats). */
export interface EntryLineStats {
  /** Entries longer than `maxLineBytes` whose MESSAGE was cut so that they fit. */
  shrunk: number;
  /** Entries longer than `maxLineBytes` that could not be cut (no MESSAGE to cut, not JSON): written whole. */
  uncut: number;
  /** Entries longer than `maxEntryBytes`: dropped, never held whole. */
  dropped: number;
}

/**
 * Splits journalctl's stdout into complete lines (each with its "\n") within a bound: a line up to
 * `maxLineBytes` passes untouched (no copy); a longer one is held whole, up to `maxEntryBytes`, and
 * its MESSAGE cut so that it fits (`shrinkEntry`); one longer than that is dropped as it streams
 * (memory stays bounded by `maxEntryBytes`) and reported through `onDropped`. The bytes after the
 * last "\n" wait for the next chunk; what is held when journalctl ends is an incomplete entry and
 * is never written.
 */
export class EntryLines {
  private held: Buffer[] = [];
  private heldBytes = 0;
  private dropping = false;

  /** `stats`: where to count (the follower's own, kept across journalctl runs). */
  constructor(
    private readonly maxLineBytes: number,
    private readonly maxEntryBytes: number,
    private readonly onDropped: (bytes: number) => void = () => undefined,
    readonly stats: EntryLineStats = { shrunk: 0, uncut: 0, dropped: 0 },
  ) {}

  /** Bytes of an incomplete line held (or being dropped). */
  get pendingBytes(): number {
    return this.heldBytes;
  }

  /** The complete lines `chunk` ends, each ending with "\n", in order. */
  take(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, start);
      if (nl < 0) break;
      const piece = chunk.subarray(start, nl + 1);
      start = nl + 1;
      if (this.dropping) {
        this.onDropped(this.heldBytes + piece.length);
        this.stats.dropped += 1;
        this.dropping = false;
        this.heldBytes = 0;
        continue;
      }
      const length = this.heldBytes + piece.length;
      const line = this.held.length === 0 ? piece : Buffer.concat([...this.held, piece]);
      this.held = [];
      this.heldBytes = 0;
      if (length > this.maxEntryBytes) {
        this.onDropped(length);
        this.stats.dropped += 1;
        continue;
      }
      if (line.length <= this.maxLineBytes) {
        out.push(line);
        continue;
      }
      const shrunk = shrinkEntry(line, this.maxLineBytes);
      if (shrunk === undefined) this.stats.uncut += 1;
      else this.stats.shrunk += 1;
      out.push(shrunk ?? line);
    }
    if (start < chunk.length) this.hold(chunk.subarray(start));
    return out;
  }

  private hold(rest: Buffer): void {
    this.heldBytes += rest.length;
    if (this.dropping) return;
    if (this.heldBytes > this.maxEntryBytes) {
      this.held = [];
      this.dropping = true;
      return;
    }
    // Copied: the chunk's memory is not ours to keep.
    this.held.push(Buffer.from(rest));
  }
}

/**
 * `line` (one JSON entry and its "\n") rewritten to at most `maxBytes` bytes by cutting its
 * MESSAGE at a character boundary, the bytes left out (with any an earlier cut left out) in
 * `_BOXSCOPE_DROPPED_BYTES`. MESSAGE stays a string when what is kept is valid UTF-8, a byte array
 * otherwise, as journalctl prints it. Undefined when the line cannot be cut to fit: not a JSON
 * object, no MESSAGE bytes to cut, or the other fields alone too long.
 */
export function shrinkEntry(line: Buffer, maxBytes: number): Buffer | undefined {
  let entry: Record<string, unknown>;
  try {
    const value: unknown = JSON.parse(line.toString("utf8"));
    if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
    entry = value as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const whole = journalMessageBytes(entry.MESSAGE);
  if (whole === undefined || whole.length === 0) return undefined;
  // Without the line end the decoder strips anyway: the count is of the text's bytes.
  const message = whole[whole.length - 1] === NEWLINE ? whole.subarray(0, -1) : whole;
  const before = Number(entry[FOLLOWER_DROPPED_BYTES_FIELD] ?? 0);
  const earlier = Number.isSafeInteger(before) && before > 0 ? before : 0;
  const serialize = (end: number): Buffer => {
    const kept = message.subarray(0, end);
    const text = JSON.stringify({
      ...entry,
      MESSAGE: isUtf8(kept) ? kept.toString("utf8") : [...kept],
      [FOLLOWER_DROPPED_BYTES_FIELD]: String(earlier + message.length - end),
    });
    return Buffer.from(`${text}\n`);
  };
  const empty = serialize(0);
  const room = maxBytes - empty.length;
  if (room < 0) return undefined;
  // A kept byte costs 1 to 6 bytes of JSON (an escape, a byte array's "255,"): guess from the
  // cost so far, then cut further while too long; a few rounds reach the bound.
  let keep = Math.min(message.length, room);
  for (let round = 0; round < 16 && keep > 0; round++) {
    const end = utf8CutPoint(message, keep);
    const out = serialize(end);
    if (out.length <= maxBytes) return out;
    const cost = out.length - empty.length;
    keep = Math.min(end - 1, Math.floor((end * room) / cost));
  }
  return empty;
}
