/** What a `_bulk` body needs of a prepared record (indexer.ts Pending). */
export interface BulkDocument {
  index: string;
  id: string;
  body: Buffer;
}

/** What to do with one item of a _bulk response. */
export type ItemOutcome =
  | { kind: "ok" }
  | { kind: "retry"; reason: string }
  | { kind: "dead"; reason: string };

interface BulkItemResult {
  status: number;
  error?:
    | { type?: string; reason?: string | null; caused_by?: { type?: string; reason?: string | null } }
    | undefined;
}

/**
 * 429 (queue full) and 5xx (shard unavailable...) may succeed later; any other 4xx (a mapping
 * conflict, a document that cannot be parsed) never will, so it goes to the dead-letter topic.
 */
export function classifyItem(item: BulkItemResult): ItemOutcome {
  if (item.status >= 200 && item.status < 300) return { kind: "ok" };
  const e = item.error;
  const reason = e
    ? `${e.type ?? "error"}: ${e.reason ?? ""}${e.caused_by ? ` (${e.caused_by.type}: ${e.caused_by.reason ?? ""})` : ""}`
    : `HTTP ${item.status}`;
  if (item.status === 429 || item.status >= 500) return { kind: "retry", reason };
  return { kind: "dead", reason: `${item.status} ${reason}` };
}

/**
 * The NDJSON `_bulk` body in one buffer: an action line per document followed by the record's own
 * bytes. The action lines are ASCII (the index name is checked by the config, the id is
 * base64url) and written byte by byte: a short JIT-compiled loop costs less per document than a
 * `Buffer.write` call, and no per-document string or buffer is left as garbage. The records' bytes
 * are copied with `TypedArray.set` (a builtin; `Buffer.copy` validates its arguments in JS first).
 */
export function bulkBody(pending: readonly BulkDocument[]): Buffer {
  let size = 0;
  for (const p of pending) size += ACTION_BYTES + p.index.length + p.id.length + p.body.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const p of pending) {
    at = writeAscii(out, at, ACTION_START);
    at = writeAscii(out, at, p.index);
    at = writeAscii(out, at, ACTION_ID);
    at = writeAscii(out, at, p.id);
    at = writeAscii(out, at, ACTION_END);
    out.set(p.body, at);
    at += p.body.length;
    out[at++] = 0x0a;
  }
  return out;
}

const ACTION_START = '{"index":{"_index":"';
const ACTION_ID = '","_id":"';
const ACTION_END = '"}}\n';
/** The action line's fixed bytes and the newline after the document. */
const ACTION_BYTES = ACTION_START.length + ACTION_ID.length + ACTION_END.length + 1;

/** Writes an ASCII string at `at`; returns the position after it. */
function writeAscii(out: Buffer, at: number, text: string): number {
  for (let i = 0; i < text.length; i++) out[at + i] = text.charCodeAt(i);
  return at + text.length;
}
