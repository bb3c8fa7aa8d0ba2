import assert from "node:assert/strict";
import { test } from "node:test";
import { earlierDailyIndices } from "./documents.js";
import { alreadyIndexed, replayedInChunk, replayProbe } from "./replay.js";

const t = (iso: string) => new Date(iso).getTime();

test("earlier daily indices count back whole UTC days from the record's own", () => {
  assert.deepEqual(earlierDailyIndices("p", t("2026-03-01T00:00:01Z"), 2), ["p-2026.02.28", "p-2026.02.27"]);
  assert.deepEqual(earlierDailyIndices("p", t("2026-03-01T00:00:01Z"), 0), []);
});

test("only replayed records are probed, one doc per earlier index", () => {
  const records = [
    { id: "a", time: t("2026-11-26T00:00:02Z"), replayed: false },
    { id: "b", time: t("2026-11-26T00:00:03Z"), replayed: true },
  ];
  const probe = replayProbe(records, "logs", 2);
  assert.deepEqual(probe.docs, [
    { _index: "logs-2026.11.25", _id: "b" },
    { _index: "logs-2026.11.24", _id: "b" },
  ]);
  assert.deepEqual(probe.owners, [1, 1]);
  assert.equal(replayProbe([records[0] as (typeof records)[0]], "logs", 1).docs.length, 0, "no request");
  assert.equal(replayProbe(records, "logs", 0).docs.length, 0, "look-back 0 turns it off");
});

test("found documents are skipped; a missing or closed index means not there; other errors are unsure", () => {
  const probe = {
    docs: [
      { _index: "x-1", _id: "a" },
      { _index: "x-1", _id: "b" },
      { _index: "x-0", _id: "c" },
    ],
    owners: [0, 1, 2],
  };
  const answer = alreadyIndexed(probe, {
    docs: [
      { found: true },
      { found: false },
      { error: { type: "index_not_found_exception", reason: "no such index" } },
    ],
  });
  assert.deepEqual(answer, { ok: true, skip: new Set([0]) });
  const unsure = alreadyIndexed(probe, {
    docs: [{ found: true }, { error: { type: "no_shard_available_action_exception", reason: "down" } }, {}],
  });
  assert.deepEqual(unsure, { ok: false, reason: "_mget no_shard_available_action_exception: down" });
  assert.equal(alreadyIndexed(probe, { docs: [] }).ok, false);
});

test("a replayed record whose first copy is earlier in the same chunk is dropped without a request", () => {
  const records = [
    { id: "a", time: t("2026-11-25T23:59:59Z"), replayed: false },
    { id: "b", time: t("2026-11-26T00:00:01Z"), replayed: true },
    { id: "a", time: t("2026-11-26T00:00:02Z"), replayed: true },
    { id: "c", time: t("2026-11-26T00:00:03Z"), replayed: false },
  ];
  assert.deepEqual(replayedInChunk(records), new Set([2]));
  assert.deepEqual(replayedInChunk([records[0], records[3]] as typeof records), new Set());
});
