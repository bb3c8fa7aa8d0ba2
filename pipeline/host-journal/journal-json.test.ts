import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  FOLLOWER_DROPPED_BYTES_FIELD,
  type HostLogRecord,
  JournalJsonDecoder,
  journalTime,
} from "./journal-json.js";

/** A line as journalctl prints it (the fields as given, values as strings unless given otherwise). */
function entryLine(fields: Record<string, unknown>): string {
  return JSON.stringify({
    __CURSOR: "s=0a5e;i=2a;b=0123;m=0;t=628b3342ec000;x=b27b",
    __REALTIME_TIMESTAMP: "1733600000123456",
    __MONOTONIC_TIMESTAMP: "0",
    _BOOT_ID: "0123456789abcdef0123456789abcdef",
    ...fields,
  });
}

test("an entry as journalctl prints it: time in µs, message, and the journal's fields", () => {
  const decoder = new JournalJsonDecoder();
  const record = decoder.push(
    Buffer.from(
      entryLine({
        MESSAGE: "Started nginx.service.\n",
        PRIORITY: "6",
        SYSLOG_IDENTIFIER: "systemd",
        _SYSTEMD_UNIT: "init.scope",
        _PID: "1",
        _TRANSPORT: "journal",
        _HOSTNAME: "h",
      }),
    ),
  );
  assert.deepEqual(record, {
    time: "2024-12-07T19:33:20.123456Z",
    timeMs: Date.UTC(2024, 11, 7, 19, 33, 20, 123),
    text: "Started nginx.service.",
    lines: 1,
    unit: "init.scope",
    identifier: "systemd",
    priority: 6,
    pid: 1,
    transport: "journal",
    cursor: "s=0a5e;i=2a;b=0123;m=0;t=628b3342ec000;x=b27b",
  } satisfies HostLogRecord);
  assert.deepEqual(decoder.stats, {
    lines: 1,
    records: 1,
    errors: 0,
    truncatedRecords: 0,
    droppedBytes: 0,
    partialRecords: 0,
  });
});

test("journalTime: microseconds since the epoch as RFC 3339 with six digits, and ms", () => {
  assert.deepEqual(journalTime("0"), { time: "1970-01-01T00:00:00.000000Z", timeMs: 0 });
  assert.deepEqual(journalTime("1733600000000001"), {
    time: "2024-12-07T19:33:20.000001Z",
    timeMs: 1733600000000,
  });
  assert.deepEqual(journalTime("253402300799999999"), {
    time: "9999-12-31T23:59:59.999999Z",
    timeMs: 253402300799999,
  });
  for (const bad of [
    "",
    "-1",
    "1.5",
    "1e6",
    " 1",
    "253402300800000000",
    "9999999999999999999",
    1733600000000000,
  ]) {
    assert.equal(journalTime(bad), undefined, `${JSON.stringify(bad)}`);
  }
});

test("a MESSAGE journalctl prints as bytes (not UTF-8) is decoded, invalid bytes as U+FFFD", () => {
  const decoder = new JournalJsonDecoder();
  const bytes = [...Buffer.from("bin é "), 0xff, 0xfe, 0x00, 0x78, 0x0a];
  const record = decoder.push(entryLine({ MESSAGE: bytes }));
  assert.equal(record.text, "bin é \ufffd\ufffd\u0000x");
  assert.equal(record.error, undefined);
});

test("null or missing MESSAGE is an empty text; repeated MESSAGE values are joined by newlines", () => {
  const decoder = new JournalJsonDecoder();
  assert.equal(decoder.push(entryLine({ MESSAGE: null })).text, "");
  assert.equal(decoder.push(entryLine({})).text, "");
  assert.equal(decoder.push(entryLine({ MESSAGE: "" })).text, "");
  assert.equal(decoder.push(entryLine({ MESSAGE: "\n" })).text, "", "one line end stripped");
  assert.equal(decoder.push(entryLine({ MESSAGE: "a\n\n" })).text, "a\n", "only one");
  assert.equal(
    decoder.push(entryLine({ MESSAGE: ["one", [0x74, 0x77, 0x6f], null] })).text,
    "one\ntwo",
    "the null value adds an empty line, then the line end goes",
  );
  assert.equal(decoder.stats.errors, 0);
});

test("metadata: repeated values take the first, bad numbers are left out, not errors", () => {
  const decoder = new JournalJsonDecoder();
  const record = decoder.push(
    entryLine({
      MESSAGE: "x",
      _SYSTEMD_UNIT: ["a.service", "b.service"],
      SYSLOG_IDENTIFIER: [0x73, 0x73, 0x68, 0x64],
      PRIORITY: "8",
      _PID: "12x",
      _TRANSPORT: 5,
    }),
  );
  assert.equal(record.unit, "a.service");
  assert.equal(record.identifier, "sshd");
  assert.equal(record.priority, undefined);
  assert.equal(record.pid, undefined);
  assert.equal(record.transport, undefined);
  assert.equal(decoder.push(entryLine({ PRIORITY: "0" })).priority, 0);
});

test("malformed lines: stable codes, the raw line as text, counted", () => {
  const decoder = new JournalJsonDecoder();
  const cases: [string, string][] = [
    ["not json", "journal_json_invalid"],
    ['{"MESSAGE":"cut', "journal_json_invalid"],
    ["[1,2]", "journal_json_invalid"],
    ["null", "journal_json_invalid"],
    ['{"MESSAGE":"x"}', "journal_bad_time"],
    [entryLine({ __REALTIME_TIMESTAMP: 1733600000000000 }), "journal_bad_time"],
    [entryLine({ __REALTIME_TIMESTAMP: "yesterday" }), "journal_bad_time"],
    [entryLine({ MESSAGE: 42 }), "journal_bad_message"],
    [entryLine({ MESSAGE: { a: 1 } }), "journal_bad_message"],
    [entryLine({ MESSAGE: [1, 256] }), "journal_bad_message"],
    [entryLine({ MESSAGE: ["a", 5] }), "journal_bad_message"],
  ];
  for (const [line, code] of cases) {
    assert.deepEqual(decoder.push(line), { text: line, lines: 1, error: code }, line);
  }
  assert.equal(decoder.stats.errors, cases.length);
  assert.equal(decoder.stats.records, cases.length);
});

test("maxRecordBytes: the text is cut at a character boundary, the rest counted", () => {
  const decoder = new JournalJsonDecoder({ maxRecordBytes: 5 });
  const record = decoder.push(entryLine({ MESSAGE: "abcdé€f\n" }));
  assert.equal(record.text, "abcd");
  assert.equal(record.truncated, true);
  assert.equal(record.droppedBytes, Buffer.byteLength("é€f"));
  const raw = decoder.push("x".repeat(12));
  assert.deepEqual(raw, {
    text: "xxxxx",
    lines: 1,
    error: "journal_json_invalid",
    truncated: true,
    droppedBytes: 7,
  });
  assert.deepEqual([decoder.stats.truncatedRecords, decoder.stats.droppedBytes], [2, 13]);
});

test("an entry the follower cut: truncated, with the bytes it left out", () => {
  const decoder = new JournalJsonDecoder();
  const record = decoder.push(entryLine({ MESSAGE: "kept", [FOLLOWER_DROPPED_BYTES_FIELD]: "1000" }));
  assert.deepEqual([record.text, record.truncated, record.droppedBytes], ["kept", true, 1000]);
});

test("property: any bytes never throw, every line is exactly one record within the bound", () => {
  const junk = fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b));
  const value = fc.oneof(
    fc.string({ unit: "binary", maxLength: 40 }),
    fc.array(fc.integer({ min: -2, max: 300 }), { maxLength: 20 }),
    fc.array(fc.oneof(fc.string({ maxLength: 5 }), fc.constant(null)), { maxLength: 3 }),
    fc.anything(),
  );
  const entryLike = fc
    .record(
      {
        MESSAGE: value,
        __REALTIME_TIMESTAMP: fc.oneof(
          fc.bigInt({ min: 0n, max: 300000000000000000n }).map(String),
          fc.constantFrom("1733600000123456", "0", "-1", ""),
          fc.anything(),
        ),
        PRIORITY: fc.oneof(fc.nat({ max: 12 }).map(String), value),
        _PID: value,
        _SYSTEMD_UNIT: value,
        __CURSOR: value,
        [FOLLOWER_DROPPED_BYTES_FIELD]: fc.oneof(fc.nat().map(String), value),
      },
      { requiredKeys: [] },
    )
    .chain((entry) => {
      const json = JSON.stringify(entry) ?? "";
      return fc.oneof(
        fc.constant(json),
        fc.nat({ max: json.length }).map((n) => json.slice(0, n)),
      );
    });
  const lines = fc.array(
    fc.oneof(
      junk,
      entryLike,
      entryLike.map((s) => Buffer.from(s)),
    ),
    { maxLength: 30 },
  );
  fc.assert(
    fc.property(lines, fc.integer({ min: 1, max: 80 }), (input, max) => {
      const decoder = new JournalJsonDecoder({ maxRecordBytes: max });
      const records = input.map((line) => decoder.push(line));
      assert.equal(records.length, input.length);
      assert.deepEqual([decoder.stats.lines, decoder.stats.records], [input.length, input.length]);
      let dropped = 0;
      for (const r of records) {
        assert.equal(r.lines, 1);
        // The bound counts input bytes; an invalid one decodes to the 3 of U+FFFD.
        assert.ok(Buffer.byteLength(r.text) <= 3 * max, "text within the bound");
        assert.equal(r.truncated === true, (r.droppedBytes ?? 0) > 0);
        assert.equal(r.error === undefined, r.time !== undefined && r.timeMs !== undefined);
        assert.equal(r.stream, undefined);
        if (r.priority !== undefined) assert.ok(r.priority >= 0 && r.priority <= 7);
        dropped += r.droppedBytes ?? 0;
      }
      assert.equal(decoder.stats.droppedBytes, dropped);
      assert.equal(decoder.stats.errors, records.filter((r) => r.error !== undefined).length);
    }),
    { numRuns: 500 },
  );
});

test("property: any MESSAGE bytes as journalctl prints them (string or byte array) come back whole", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 100 }), fc.boolean(), (bytes, asArray) => {
      const buf = Buffer.from(bytes);
      const message = asArray ? [...buf] : buf.toString("utf8");
      const record = new JournalJsonDecoder().push(entryLine({ MESSAGE: message }));
      const expected = buf.toString("utf8");
      assert.equal(record.text, expected.endsWith("\n") ? expected.slice(0, -1) : expected);
      assert.equal(record.truncated, undefined);
    }),
    { numRuns: 300 },
  );
});
