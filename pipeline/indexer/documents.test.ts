import assert from "node:assert/strict";
import { test } from "node:test";
import { classifyItem } from "./bulk.js";
import { dailyIndex, documentId, prepareDocument } from "./documents.js";

test("a record becomes a document in its UTC day's index with an id from its line identity", () => {
  const rec = {
    "@timestamp": "2026-11-24T23:59:59.999+00:00",
    host: "h",
    fileId: "1:2:ab",
    offset: 7,
    container: "c",
    line: "x",
  };
  const p = prepareDocument(Buffer.from(JSON.stringify(rec)), "container-logs");
  assert.ok(p.ok);
  assert.equal(p.index, "container-logs-2026.11.24");
  assert.equal(p.id, documentId("h", "1:2:ab", 7));
  assert.equal(p.replayed, false);
  assert.equal(p.time, Date.parse("2026-11-24T23:59:59.999Z"));
  const again = prepareDocument(
    Buffer.from(JSON.stringify({ ...rec, "@timestamp": "2026-11-24T10:00:00Z" })),
    "container-logs",
  );
  assert.equal(again.ok && again.id, p.id, "a re-sent line keeps its id");
  assert.notEqual(documentId("h", "1:2:ab", 8), p.id);
  const replayed = prepareDocument(Buffer.from(JSON.stringify({ ...rec, replayed: true })), "container-logs");
  assert.ok(replayed.ok && replayed.replayed, "the shipper's replay flag is read");
  const raw = Buffer.from(JSON.stringify(rec));
  const same = prepareDocument(raw, "container-logs");
  assert.ok(same.ok && same.body === raw, "the record's own bytes are the source");
  const pretty = prepareDocument(Buffer.from(JSON.stringify(rec, null, 2)), "container-logs");
  assert.ok(pretty.ok && !pretty.body.includes(10), "a multi-line JSON value becomes one line");
  assert.deepEqual(JSON.parse(pretty.body.toString()), rec);
  assert.equal(dailyIndex("p", new Date("2026-01-02T03:04:05Z")), "p-2026.01.02");
  const at = (stamp: string) => {
    const d = prepareDocument(Buffer.from(JSON.stringify({ ...rec, "@timestamp": stamp })), "p");
    return d.ok ? d.index : d.reason;
  };
  assert.equal(at("2026-11-25T00:00:00.000Z"), "p-2026.11.25");
  assert.equal(at("2026-11-25T00:30:00+01:00"), "p-2026.11.24", "an offset moves the UTC day");
  assert.equal(at("2026-11-25T23:30:00-01:00"), "p-2026.11.26");
});

test("records that can never be documents say why", () => {
  const reason = (v: string | null) => {
    const p = prepareDocument(v === null ? null : Buffer.from(v), "x");
    return p.ok ? "ok" : p.reason;
  };
  assert.equal(reason(null), "empty record value");
  assert.match(reason("{oops"), /^invalid JSON/);
  assert.equal(reason("[1]"), "record value is not a JSON object");
  assert.equal(
    reason('{"host":"h","offset":1,"@timestamp":"2026-01-01T00:00:00Z"}'),
    'missing string field "fileId"',
  );
  assert.equal(
    reason('{"host":"h","fileId":"f","offset":1,"@timestamp":"yesterday"}'),
    'missing or invalid "@timestamp"',
  );
});

test("bulk items: 2xx ok, 429/5xx retried, other 4xx dead-lettered with the reason", () => {
  assert.equal(classifyItem({ status: 201 }).kind, "ok");
  assert.equal(
    classifyItem({ status: 429, error: { type: "es_rejected_execution_exception", reason: "queue full" } })
      .kind,
    "retry",
  );
  assert.equal(classifyItem({ status: 503 }).kind, "retry");
  assert.deepEqual(
    classifyItem({
      status: 400,
      error: { type: "document_parsing_exception", reason: "failed to parse field [offset]" },
    }),
    {
      kind: "dead",
      reason: "400 document_parsing_exception: failed to parse field [offset]",
    },
  );
});
