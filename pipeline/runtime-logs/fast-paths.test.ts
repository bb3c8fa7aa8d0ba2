/**
 * The decoders' fast paths against their references, on any input: dockerd's layout read without
 * `JSON.parse` of the object must give what `JSON.parse` gives, and timestamps parsed once per
 * second what `parseRfc3339Ms` gives. Containers write the text; runtimes and files can be
 * anything by the time the shipper reads them.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { DockerJsonDecoder, parseDockerJsonEntry } from "./docker-json.js";
import { parseRfc3339Ms, Rfc3339Seconds } from "./rfc3339.js";

const digits = (n: number) => fc.integer({ min: 0, max: 10 ** n - 1 }).map((v) => String(v).padStart(n, "0"));
/** Timestamps near each other (the fast path's case) and odd ones (its fallbacks). */
const timestamp = fc.oneof(
  fc
    .tuple(
      fc.constantFrom("2026-12-07T10:00:", "2026-12-07T10:01:", "2024-02-29T23:59:", "2026-13-01T00:00:"),
      digits(2),
      fc.oneof(
        fc.constant(""),
        fc.integer({ min: 1, max: 10 }).chain((n) => digits(n).map((d) => `.${d}`)),
        fc.constantFrom(".", ".1a", ",5"),
      ),
      fc.constantFrom("Z", "+01:00", "-07:30", "+24:00", "z", ""),
    )
    .map((parts) => parts.join("")),
  fc.string({ maxLength: 40 }),
);

test("property: Rfc3339Seconds reads every text as parseRfc3339Ms does, whatever came before", () => {
  fc.assert(
    fc.property(fc.array(timestamp, { maxLength: 30 }), (texts) => {
      const times = new Rfc3339Seconds();
      for (const t of texts) assert.equal(times.parse(t), parseRfc3339Ms(t), t);
    }),
    { numRuns: 2000 },
  );
});

/** The record the reference (`JSON.parse` of the whole entry) makes of one complete dockerd line. */
function reference(line: string): {
  text: string;
  stream?: string;
  time?: string;
  timeMs?: number;
  error?: string;
} {
  const entry = parseDockerJsonEntry(line);
  if (typeof entry === "string") return { text: line, error: entry };
  const log = entry.log.endsWith("\n") ? entry.log.slice(0, -1) : entry.log;
  return {
    text: log.endsWith("\r") ? log.slice(0, -1) : log,
    stream: entry.stream,
    time: entry.time,
    timeMs: entry.timeMs,
  };
}

test("property: dockerd's lines, however odd their text or time, decode as JSON.parse reads them", () => {
  const entryLine = fc
    .tuple(
      fc.string({ unit: "binary", maxLength: 50 }),
      fc.constantFrom("stdout", "stderr", "stdin"),
      timestamp,
      fc.boolean(),
    )
    .map(([log, stream, time, hand]) =>
      // dockerd's own layout, or the same made by JSON.stringify (other escapes, same JSON).
      hand
        ? `{"log":${JSON.stringify(`${log}\n`)},"stream":"${stream}","time":"${time}"}`
        : JSON.stringify({ log: `${log}\n`, stream, time }),
    );
  const mangled = fc
    .tuple(entryLine, fc.nat(), fc.string({ maxLength: 3 }))
    .map(
      ([line, at, insert]) =>
        line.slice(0, at % (line.length + 1)) + insert + line.slice(at % (line.length + 1)),
    );
  fc.assert(
    fc.property(fc.oneof(entryLine, mangled), (line) => {
      const expected = reference(line);
      const decoder = new DockerJsonDecoder();
      const record = decoder.push(line);
      if (expected.error === undefined && !JSON.parse(line).log.endsWith("\n")) return; // a piece: held
      assert.ok(record, line);
      assert.deepEqual(
        {
          text: record.text,
          stream: record.stream,
          time: record.time,
          timeMs: record.timeMs,
          error: record.error,
        },
        {
          text: expected.text,
          stream: expected.stream,
          time: expected.time,
          timeMs: expected.timeMs,
          error: expected.error,
        },
        line,
      );
    }),
    { numRuns: 3000 },
  );
});
