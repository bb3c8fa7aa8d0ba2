import { earlierDailyIndices } from "./documents.js";

/** What the replay check needs of a prepared record. */
export interface ReplayCandidate {
  id: string;
  time: number;
  replayed: boolean;
}

/**
 * Positions of replayed records whose first copy (same id, any index) is earlier in the same chunk:
 * that copy is indexed by this very request, so the replay is dropped without asking.
 */
export function replayedInChunk(records: readonly ReplayCandidate[]): Set<number> {
  const drop = new Set<number>();
  if (!records.some((r) => r.replayed)) return drop;
  const seen = new Set<string>();
  records.forEach((r, i) => {
    if (r.replayed && seen.has(r.id)) drop.add(i);
    seen.add(r.id);
  });
  return drop;
}

/** One `_mget` for a chunk: a doc per (replayed record, earlier daily index). */
export interface ReplayProbe {
  docs: { _index: string; _id: string }[];
  /** `owners[i]` is the position in the chunk of the record `docs[i]` looks for. */
  owners: number[];
}

/** The `_mget` docs for the chunk's replayed records; empty when none is replayed (no request). */
export function replayProbe(
  records: readonly ReplayCandidate[],
  indexPrefix: string,
  lookbackDays: number,
): ReplayProbe {
  const probe: ReplayProbe = { docs: [], owners: [] };
  if (lookbackDays <= 0) return probe;
  records.forEach((r, i) => {
    if (!r.replayed) return;
    for (const index of earlierDailyIndices(indexPrefix, r.time, lookbackDays)) {
      probe.docs.push({ _index: index, _id: r.id });
      probe.owners.push(i);
    }
  });
  return probe;
}

/** One `_mget` answer doc, as far as the replay check reads it. */
export interface MgetDoc {
  found?: boolean;
  error?: { type?: string; reason?: string | null } | undefined;
}

/** Errors that mean "that earlier index holds nothing we could duplicate". */
const ABSENT = new Set(["index_not_found_exception", "index_closed_exception"]);

/**
 * Positions of the records already present in an earlier daily index (to skip), or the reason the
 * answer is unsure (a shard that did not answer: the chunk is retried rather than risk a duplicate).
 */
export function alreadyIndexed(
  probe: ReplayProbe,
  response: { docs: readonly MgetDoc[] },
): { ok: true; skip: Set<number> } | { ok: false; reason: string } {
  const skip = new Set<number>();
  for (let i = 0; i < probe.docs.length; i++) {
    const doc = response.docs[i];
    if (!doc)
      return { ok: false, reason: `_mget answered ${response.docs.length} of ${probe.docs.length} docs` };
    if (doc.error) {
      if (ABSENT.has(doc.error.type ?? "")) continue;
      return { ok: false, reason: `_mget ${doc.error.type ?? "error"}: ${doc.error.reason ?? ""}` };
    }
    if (doc.found) skip.add(probe.owners[i] as number);
  }
  return { ok: true, skip };
}
