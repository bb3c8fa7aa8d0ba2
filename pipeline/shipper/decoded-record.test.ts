import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { encodeDecodedRecord, IsoTimes } from "./decoded-record.js";

const META = `"host":"h1","source":"docker","container":"web \\"1\\"","file":"/x","fileId":"1:2:ab"`;
const READ_AT = "2026-12-07T12:00:00.000Z";

test("a decoded record: the runtime's time as @timestamp, the read time kept, flags only when set", () => {
  const doc = JSON.parse(
    encodeDecodedRecord(
      META,
      READ_AT,
      42,
      {
        time: "2026-12-07T11:00:00.123456789+01:00",
        timeMs: Date.UTC(2026, 11, 7, 10, 0, 0, 123),
        stream: "stderr",
        text: 'a "line"\n\u0000',
        lines: 3,
        truncated: true,
        droppedBytes: 9,
        attrs: { tag: "web" },
      },
      true,
      new IsoTimes(),
    ),
  );
  assert.deepEqual(doc, {
    "@timestamp": "2026-12-07T10:00:00.123Z",
    readAt: READ_AT,
    host: "h1",
    source: "docker",
    container: 'web "1"',
    file: "/x",
    fileId: "1:2:ab",
    offset: 42,
    stream: "stderr",
    time: "2026-12-07T11:00:00.123456789+01:00",
    line: 'a "line"\n\u0000',
    truncated: true,
    droppedBytes: 9,
    lines: 3,
    attrs: { tag: "web" },
    replayed: true,
  });
});

test("a malformed line: raw, its error code, the read time as @timestamp", () => {
  const doc = JSON.parse(
    encodeDecodedRecord(
      META,
      READ_AT,
      0,
      { text: "{oops", lines: 1, error: "docker_json_invalid" },
      false,
      new IsoTimes(),
    ),
  );
  assert.equal(doc["@timestamp"], READ_AT);
  assert.equal(doc.error, "docker_json_invalid");
  assert.equal(doc.line, "{oops");
  assert.equal(doc.stream, undefined);
});

test("property: any text and journal fields make one valid JSON object that reads back the same", () => {
  const times = new IsoTimes();
  fc.assert(
    fc.property(
      fc.string({ unit: "binary" }),
      fc.option(fc.string(), { nil: undefined }),
      fc.option(fc.integer({ min: 0, max: 7 }), { nil: undefined }),
      (text, unit, priority) => {
        const doc = JSON.parse(
          encodeDecodedRecord(
            META,
            READ_AT,
            1,
            { text, lines: 1, unit, priority, timeMs: 0, time: "x" },
            false,
            times,
          ),
        );
        assert.equal(doc.line, text);
        assert.equal(doc.unit, unit);
        assert.equal(doc.priority, priority);
        assert.equal(doc["@timestamp"], "1970-01-01T00:00:00.000Z");
      },
    ),
    { numRuns: 500 },
  );
});

test("property: @timestamp built once per second equals Date#toISOString, in any order of times", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: -62_000_000_000_000, max: 253_402_300_799_999 }), { maxLength: 20 }),
      (ms) => {
        const times = new IsoTimes();
        for (const m of ms) {
          assert.equal(times.iso(m), new Date(m).toISOString());
          assert.equal(times.iso(m + 1), new Date(m + 1).toISOString());
        }
      },
    ),
    { numRuns: 1000 },
  );
});
