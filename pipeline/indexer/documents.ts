import { hash } from "node:crypto";

/** A Kafka record turned into the document to index, or the reason it never can be. */
export type Prepared =
  | {
      ok: true;
      index: string;
      id: string;
      /** `@timestamp` in ms since the epoch (picks the daily index). */
      time: number;
      /** The shipper re-read this record after a restart (`"replayed": true`): it may be indexed already. */
      replayed: boolean;
      /**
       * The `_source` to send: the record's own bytes, or, when they hold a line break (valid JSON
       * may, between tokens; the `_bulk` body is one document per line), the parsed object again.
       */
      body: Buffer;
    }
  | { ok: false; reason: string };

/**
 * The document id is the line's identity (host, file identity, byte offset), so a line sent twice
 * (shipper crash before its positions were saved) or consumed twice (indexer crash before its
 * commit) is written to the same document, once.
 */
export function documentId(host: string, fileId: string, offset: number | string): string {
  // One-shot hash: no Hash object per record as createHash().update().digest() makes, same value.
  return hash("sha1", `${host}\u0000${fileId}\u0000${offset}`, "base64url");
}

/** `<prefix>-YYYY.MM.DD` for the record's UTC day. */
export function dailyIndex(prefix: string, timestamp: Date): string {
  const y = timestamp.getUTCFullYear();
  const m = String(timestamp.getUTCMonth() + 1).padStart(2, "0");
  const d = String(timestamp.getUTCDate()).padStart(2, "0");
  return `${prefix}-${y}.${m}.${d}`;
}

/**
 * dailyIndex, taking the day from the text when the timestamp is ISO 8601 in UTC
 * ("YYYY-MM-DDT...Z", what the shipper writes): no date formatting per record.
 */
function dailyIndexOf(prefix: string, stamp: string, ts: Date): string {
  if (
    stamp.length > 11 &&
    stamp[4] === "-" &&
    stamp[7] === "-" &&
    stamp[10] === "T" &&
    stamp[stamp.length - 1] === "Z" &&
    ts.getUTCDate() === Number(stamp.slice(8, 10))
  )
    return `${prefix}-${stamp.slice(0, 4)}.${stamp.slice(5, 7)}.${stamp.slice(8, 10)}`;
  return dailyIndex(prefix, ts);
}

/** Parses a shipper record (JSON: @timestamp, host, container, file, fileId, offset, line, ...). */
export function prepareDocument(value: Buffer | null, indexPrefix: string): Prepared {
  if (value === null || value.length === 0) return { ok: false, reason: "empty record value" };
  const text = value.toString("utf8");
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return { ok: false, reason: `invalid JSON: ${(e as Error).message}` };
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    return { ok: false, reason: "record value is not a JSON object" };
  }
  const source = doc as Record<string, unknown>;
  for (const key of ["host", "fileId"] as const) {
    if (typeof source[key] !== "string" || source[key] === "")
      return { ok: false, reason: `missing string field "${key}"` };
  }
  const offset = source.offset;
  if (typeof offset !== "number" && typeof offset !== "string")
    return { ok: false, reason: 'missing field "offset"' };
  const stamp = source["@timestamp"];
  const ts = new Date(typeof stamp === "string" ? stamp : Number.NaN);
  if (Number.isNaN(ts.getTime())) return { ok: false, reason: 'missing or invalid "@timestamp"' };
  return {
    ok: true,
    index: dailyIndexOf(indexPrefix, stamp as string, ts),
    id: documentId(source.host as string, source.fileId as string, offset),
    time: ts.getTime(),
    replayed: source.replayed === true,
    // A 0x0A byte in UTF-8 is always "\n": searched in the decoded text, a builtin, rather than
    // with `Buffer.indexOf`, which crosses into native code for every record.
    body: text.indexOf("\n") === -1 ? value : Buffer.from(JSON.stringify(source)),
  };
}

const DAY_MS = 86_400_000;

/**
 * The daily indices before the record's own where a replayed copy of it may already be: a line the
 * shipper re-sends after a crash gets a new `@timestamp` (read time), so around midnight UTC its
 * first copy sits in the previous day's index. Newest first; `lookbackDays` 0 means none.
 */
export function earlierDailyIndices(prefix: string, time: number, lookbackDays: number): string[] {
  const out: string[] = [];
  for (let d = 1; d <= lookbackDays; d++) out.push(dailyIndex(prefix, new Date(time - d * DAY_MS)));
  return out;
}
