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
