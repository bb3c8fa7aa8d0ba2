/**
 * Property (fuzz) tests of the runtime log decoders with fast-check: hostile bytes never make them
 * throw or lose a line, and real-shaped pieces always join back to what the container wrote.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { containerdLines, dockerdLines } from "../../test/helpers/runtime-log-writers.js";
import { CriDecoder } from "./cri.js";
import { DockerJsonDecoder } from "./docker-json.js";
import type { LogStream, RuntimeLogRecord } from "./record.js";

type Decoder = CriDecoder | DockerJsonDecoder;
const decoders: [string, (maxRecordBytes: number) => Decoder][] = [
  ["docker-json", (maxRecordBytes) => new DockerJsonDecoder({ maxRecordBytes })],
  ["cri", (maxRecordBytes) => new CriDecoder({ maxRecordBytes })],
];

/**
 * Pushes every line, then flushes; checks the invariants that hold for any input. `textBound`: the
 * most UTF-8 bytes a text may have: `maxRecordBytes` for valid UTF-8 input, 3 times that for any
 * bytes (the bound counts the bytes the runtime wrote; an invalid one decodes to the 3 of U+FFFD).
 */
function decodeChecked(decoder: Decoder, lines: (string | Buffer)[], textBound: number): RuntimeLogRecord[] {
  const records: RuntimeLogRecord[] = [];
  for (const line of lines) {
    const record = decoder.push(line);
    if (record) records.push(record);
  }
  records.push(...decoder.flush());
  assert.equal(decoder.pendingLines, 0);
  // Every input line is in exactly one record.
  assert.equal(
    records.reduce((sum, r) => sum + r.lines, 0),
    lines.length,
  );
  assert.deepEqual([decoder.stats.lines, decoder.stats.records], [lines.length, records.length]);
  let dropped = 0;
  for (const r of records) {
    assert.ok(Buffer.byteLength(r.text) <= textBound, "text within the bound");
    assert.equal(r.truncated === true, (r.droppedBytes ?? 0) > 0);
    assert.equal(
      r.error === undefined,
      r.time !== undefined && r.stream !== undefined && r.timeMs !== undefined,
    );
    if (r.error !== undefined) assert.equal(r.lines, 1);
    dropped += r.droppedBytes ?? 0;
  }
  assert.equal(decoder.stats.droppedBytes, dropped);
  return records;
}

/** Arbitrary bytes, and lines close enough to each format to reach past its first check. */
const junkLine = fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.from(b));
const fieldJunk = fc.oneof(
  fc.constantFrom("", " ", "P", "F", "F:x", "stdout", "stderr", "{", '"'),
  fc.string({ maxLength: 8 }),
);
const criLike = fc
  .tuple(
    fc.oneof(fc.constantFrom("2026-12-07T17:08:50Z", "2026-12-07T18:08:50.123456789+01:00"), fieldJunk),
    fc.oneof(fc.constantFrom("stdout", "stderr"), fieldJunk),
    fc.oneof(fc.constantFrom("P", "F", "F:x"), fieldJunk),
    fc.uint8Array({ maxLength: 60 }),
  )
  .map(([time, stream, tag, text]) => Buffer.concat([Buffer.from(`${time} ${stream} ${tag} `), text]));
const dockerLike = fc
  .record(
    {
      log: fc.oneof(
        fc.string({ unit: "binary", maxLength: 30 }).map((s) => `${s}\n`),
        fc.string({ unit: "binary", maxLength: 30 }),
        fc.anything(),
      ),
      stream: fc.oneof(fc.constantFrom("stdout", "stderr"), fc.anything()),
      time: fc.oneof(fc.constantFrom("2026-12-07T17:08:50Z", "2026-12-07T17:08:50.1Z"), fc.anything()),
      attrs: fc.oneof(fc.dictionary(fc.string(), fc.string()), fc.anything()),
    },
    { requiredKeys: [] },
  )
  .chain((entry) => {
    const json = JSON.stringify(entry) ?? "";
    // Sometimes cut short, as a line capped by the shipper's line splitter is.
    return fc.oneof(
      fc.constant(json),
      fc.nat({ max: json.length }).map((n) => json.slice(0, n)),
    );
  });
const hostileLines = fc.array(
  fc.oneof(
    junkLine,
    criLike,
    dockerLike,
    dockerLike.map((s) => Buffer.from(s)),
  ),
  {
    maxLength: 40,
  },
);

for (const [name, make] of decoders) {
  test(`${name}: any bytes: never throws, every line in exactly one record, within the bound`, () => {
    fc.assert(
      fc.property(hostileLines, fc.integer({ min: 1, max: 80 }), (lines, max) => {
        decodeChecked(make(max), lines, 3 * max);
      }),
      { numRuns: 300 },
    );
  });
}

/** One line of output: its stream and its pieces. */
interface Written {
  stream: LogStream;
  text: string;
  pieces: (string | Buffer)[];
}

/**
 * The lines' pieces in one file as two writers (stdout's, stderr's) interleave them: each stream's
 * pieces in order, the streams merged as `picks` says.
 */
function interleave(lines: Written[], picks: boolean[]): (string | Buffer)[] {
  const queues = {
    stdout: lines.filter((l) => l.stream === "stdout").flatMap((l) => l.pieces),
    stderr: lines.filter((l) => l.stream === "stderr").flatMap((l) => l.pieces),
  };
  const out: (string | Buffer)[] = [];
  for (let i = 0; queues.stdout.length > 0 || queues.stderr.length > 0; i++) {
    const from =
      queues.stdout.length === 0 || (queues.stderr.length > 0 && picks[i % Math.max(picks.length, 1)])
        ? "stderr"
        : "stdout";
    const next = queues[from].shift();
    if (next !== undefined) out.push(next);
  }
  return out;
}

function textsOf(records: RuntimeLogRecord[], stream: LogStream): string[] {
  return records.filter((r) => r.stream === stream).map((r) => r.text);
}

const stream = fc.constantFrom<LogStream>("stdout", "stderr");
/** Text with no "\n" (a line's end), any other character, ending in "\r" or not. */
const lineText = fc.string({ unit: "binary", maxLength: 60 }).map((s) => s.replaceAll("\n", " "));

test("docker-json: lines cut into pieces at character boundaries, streams interleaved, come back whole", () => {
  const written = fc.array(
    fc.tuple(stream, lineText, fc.integer({ min: 1, max: 12 })).map(([s, text, pieceChars]): Written => {
      // dockerd's pieces as a writer that cuts between characters would write them.
      const chars = [...text];
      const pieces: string[] = [];
      for (let at = 0; at + pieceChars <= chars.length; at += pieceChars) {
        pieces.push(
          JSON.stringify({
            log: chars.slice(at, at + pieceChars).join(""),
            stream: s,
            time: "2026-12-07T17:08:50.1Z",
          }),
        );
      }
      const rest = chars.slice(chars.length - (chars.length % pieceChars)).join("");
      pieces.push(JSON.stringify({ log: `${rest}\n`, stream: s, time: "2026-12-07T17:08:50.1Z" }));
      return { stream: s, text: text.endsWith("\r") ? text.slice(0, -1) : text, pieces };
    }),
    { maxLength: 12 },
  );
  fc.assert(
    fc.property(written, fc.array(fc.boolean()), (lines, picks) => {
      const records = decodeChecked(new DockerJsonDecoder(), interleave(lines, picks), 1 << 20);
      for (const s of ["stdout", "stderr"] as const) {
        assert.deepEqual(
          textsOf(records, s),
          lines.filter((l) => l.stream === s).map((l) => l.text),
        );
      }
      assert.ok(records.every((r) => r.error === undefined && !r.truncated && !r.partial));
    }),
    { numRuns: 200 },
  );
});

test("docker-json: ASCII lines as dockerd cuts them (at bytes) come back whole", () => {
  const ascii = fc.string({ unit: "binary-ascii", maxLength: 80 }).map((s) => s.replaceAll("\n", " "));
  fc.assert(
    fc.property(
      fc.array(fc.tuple(stream, ascii), { maxLength: 8 }),
      fc.integer({ min: 1, max: 20 }),
      fc.array(fc.boolean()),
      (lines, pieceBytes, picks) => {
        const written = lines.map(
          ([s, text]): Written => ({
            stream: s,
            text: text.endsWith("\r") ? text.slice(0, -1) : text,
            pieces: dockerdLines(text, { stream: s, pieceBytes }),
          }),
        );
        const records = decodeChecked(new DockerJsonDecoder(), interleave(written, picks), 1 << 20);
        for (const s of ["stdout", "stderr"] as const) {
          assert.deepEqual(
            textsOf(records, s),
            written.filter((l) => l.stream === s).map((l) => l.text),
          );
        }
      },
    ),
    { numRuns: 200 },
  );
});

test("cri: any bytes cut into pieces at any byte (as containerd does), streams interleaved, come back whole", () => {
  const bytes = fc
    .uint8Array({ maxLength: 80 })
    .map((b) => Buffer.from(b.map((x) => (x === 0x0a ? 0x20 : x))));
  fc.assert(
    fc.property(
      fc.array(fc.tuple(stream, bytes), { maxLength: 10 }),
      fc.integer({ min: 1, max: 20 }),
      fc.array(fc.boolean()),
      (lines, maxLen, picks) => {
        const written = lines.map(
          ([s, b]): Written => ({
            stream: s,
            // Decoded once, whole: a character cut between pieces is whole again.
            text: b.toString("utf8"),
            pieces: containerdLines(b, { stream: s, maxLen }),
          }),
        );
        const records = decodeChecked(new CriDecoder(), interleave(written, picks), 1 << 20);
        for (const s of ["stdout", "stderr"] as const) {
          assert.deepEqual(
            textsOf(records, s),
            written.filter((l) => l.stream === s).map((l) => l.text),
          );
        }
        assert.ok(records.every((r) => r.error === undefined && !r.truncated && !r.partial));
      },
    ),
    { numRuns: 200 },
  );
});

/** `text` with every non-ASCII character replaced by "?": dockerd's byte cuts then damage nothing. */
function asciiOnly(text: string): string {
  return [...text].map((c) => ((c.codePointAt(0) ?? 0) < 0x80 ? c : "?")).join("");
}

test("both: a line over the bound keeps its longest prefix of whole characters, and the rest is counted", () => {
  const text = fc
    .string({ unit: "binary", minLength: 1, maxLength: 80 })
    .map((s) => s.replaceAll("\n", " ").replaceAll("\r", " "));
  fc.assert(
    fc.property(
      text,
      fc.integer({ min: 1, max: 60 }),
      fc.integer({ min: 1, max: 30 }),
      (line, max, pieceBytes) => {
        const bytes = Buffer.from(line);
        const cri = decodeChecked(
          new CriDecoder({ maxRecordBytes: max }),
          containerdLines(bytes, { maxLen: pieceBytes }),
          max,
        );
        const docker = decodeChecked(
          new DockerJsonDecoder({ maxRecordBytes: max }),
          dockerdLines(asciiOnly(line), { pieceBytes }),
          max,
        );
        for (const [record, original] of [
          [cri[0], line],
          [docker[0], asciiOnly(line)],
        ] as const) {
          const kept = Buffer.byteLength(record?.text ?? "");
          assert.ok(original.startsWith(record?.text ?? "\u0000"), "a prefix");
          assert.equal(kept + (record?.droppedBytes ?? 0), Buffer.byteLength(original));
          if (record?.truncated) {
            // Maximal: the next character would not have fit.
            const nextChar = [...original.slice(record.text.length)][0] ?? "";
            assert.ok(kept + Buffer.byteLength(nextChar) > max);
          }
        }
      },
    ),
    { numRuns: 300 },
  );
});
