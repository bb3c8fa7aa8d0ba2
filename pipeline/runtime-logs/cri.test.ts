import assert from "node:assert/strict";
import { test } from "node:test";
import { containerdLines, RUNTIME_PIECE_BYTES } from "../../test/helpers/runtime-log-writers.js";
import { CriDecoder, type CriRecord } from "./cri.js";

/** Every record the decoder gives for `lines`, then those `flush` gives. */
function decodeAll(decoder: CriDecoder, lines: (string | Buffer)[]): CriRecord[] {
  const out: CriRecord[] = [];
  for (const line of lines) {
    const record = decoder.push(line);
    if (record) out.push(record);
  }
  return [...out, ...decoder.flush()];
}

test("a line as containerd writes it: local offset in the time, text after the tag, spaces kept", () => {
  const decoder = new CriDecoder();
  const record = decoder.push(Buffer.from("2026-12-07T18:08:50.12345678+01:00 stdout F GET /  200  \t x"));
  assert.deepEqual(record, {
    time: "2026-12-07T18:08:50.12345678+01:00",
    timeMs: Date.UTC(2026, 11, 7, 17, 8, 50, 123),
    stream: "stdout",
    text: "GET /  200  \t x",
    lines: 1,
    firstPiece: 1,
  });
  assert.deepEqual(decoder.push("2026-12-07T17:08:51Z stderr F ")?.text, "", "an empty line keeps its space");
  assert.equal(
    decoder.push("2026-12-07T17:08:51Z stderr F:future:tags x")?.text,
    "x",
    "later tags are ignored",
  );
});

test("a 100 KiB line split into 16 KiB P pieces and an F comes back as one record, with its first piece's time", () => {
  const line = Buffer.from("0123456789abcdef".repeat(6400)); // 102 400 bytes
  const pieces = containerdLines(line, { time: (i) => `2026-12-07T17:08:50.00000000${i}Z` });
  assert.equal(pieces.length, 7);
  assert.match(pieces[0]?.toString("latin1", 0, 45) ?? "", / stdout P 0123/);
  assert.match(pieces[6]?.toString("latin1", 0, 45) ?? "", / stdout F 0123/);
  const decoder = new CriDecoder();
  const results = pieces.map((p) => decoder.push(p));
  assert.deepEqual(results.slice(0, 6), Array(6).fill(undefined));
  assert.equal(results[6]?.text, line.toString());
  assert.equal(results[6]?.lines, 7);
  assert.equal(results[6]?.time, "2026-12-07T17:08:50.000000000Z");
  // Exactly two pieces' worth: containerd writes P then a full F, never an empty F.
  const two = containerdLines("x".repeat(2 * RUNTIME_PIECE_BYTES));
  assert.deepEqual(
    decodeAll(decoder, two).map((r) => [r.text.length, r.lines]),
    [[2 * RUNTIME_PIECE_BYTES, 2]],
  );
});

test("stdout and stderr pieces interleaved in one file are joined per stream", () => {
  const out = `out:${"o".repeat(40_000)}`;
  const err = `err:${"e".repeat(20_000)}`;
  const o = containerdLines(out, { stream: "stdout" });
  const e = containerdLines(err, { stream: "stderr" });
  const short = containerdLines("between", { stream: "stderr" });
  const mixed = [o[0], e[0], o[1], e[1], ...short, o[2]].map((l) => l ?? Buffer.alloc(0));
  const decoder = new CriDecoder();
  const results = mixed.map((l) => decoder.push(l));
  assert.deepEqual(
    results.map((r) => (r ? [r.stream, r.text.length] : undefined)),
    [undefined, undefined, undefined, ["stderr", err.length], ["stderr", 7], ["stdout", out.length]],
  );
  assert.equal(results[3]?.text, err);
  assert.equal(results[5]?.text, out);
});

test("UTF-8 characters cut between pieces (containerd cuts at a byte count) are joined whole", () => {
  // "€" (3 bytes) straddles the first cut, "😀" (4 bytes) the second.
  const text = `${"a".repeat(RUNTIME_PIECE_BYTES - 1)}€${"b".repeat(RUNTIME_PIECE_BYTES - 4)}😀 end`;
  const pieces = containerdLines(text);
  assert.equal(pieces.length, 3);
  assert.equal(pieces[0]?.at(-1), 0xe2, "the first piece ends inside the €");
  assert.deepEqual(
    decodeAll(new CriDecoder(), pieces).map((r) => r.text),
    [text],
  );
  // Tiny pieces, every character of every width cut everywhere.
  const mixed = "aé€😀".repeat(50);
  for (const maxLen of [1, 2, 3, 5]) {
    const records = decodeAll(new CriDecoder(), containerdLines(mixed, { maxLen }));
    assert.equal(records[0]?.text, mixed, `maxLen ${maxLen}`);
  }
});

test("CR: a \\r inside the text is kept (containerd already dropped the \\r\\n line end)", () => {
  const decoder = new CriDecoder();
  assert.equal(
    decoder.push(containerdLines("progress 10%\rprogress 20%\r")[0] ?? "")?.text,
    "progress 10%\rprogress 20%\r",
  );
});

test("a line over maxRecordBytes is cut at a character boundary, flagged, the rest of its pieces counted", () => {
  const decoder = new CriDecoder({ maxRecordBytes: 40_000 });
  const line = `${"z".repeat(39_999)}€${"z".repeat(60_000)}`;
  const [record, next] = decodeAll(decoder, [...containerdLines(line), ...containerdLines("next")]);
  assert.equal(record?.text, "z".repeat(39_999), "the € would not fit whole");
  assert.deepEqual([record?.truncated, record?.droppedBytes, record?.lines], [true, 60_003, 7]);
  assert.deepEqual([next?.text, next?.truncated], ["next", undefined]);
  const one = new CriDecoder({ maxRecordBytes: 4 }).push("2026-12-07T17:08:50Z stdout F ab€");
  assert.deepEqual([one?.text, one?.droppedBytes], ["ab", 3]);
});

test("malformed lines come back raw with a stable error code, one record each, without disturbing a pending line", () => {
  const cases: [string, string][] = [
    ["", "cri_malformed"],
    ["no-spaces-at-all", "cri_malformed"],
    ["2026-12-07T17:08:50Z stdout", "cri_malformed"],
    ["2026-12-07T17:08:50Z stdout F", "cri_malformed"],
    ["Dec  7 17:08:50 host app: syslog line", "cri_bad_time"],
    ["2026-12-07T17:08:50 stdout F local time without offset", "cri_bad_time"],
    ["2026-12-07T24:00:00Z stdout F hour 24", "cri_bad_time"],
    [`${"9".repeat(100)} stdout F long first field`, "cri_bad_time"],
    ["2026-12-07T17:08:50Z stdin F x", "cri_bad_stream"],
    ["2026-12-07T17:08:50Z  stdout F double space", "cri_bad_stream"],
    ["2026-12-07T17:08:50Z stdout hello world (a pre-tag cri-containerd line)", "cri_bad_tag"],
    ["2026-12-07T17:08:50Z stdout PF x", "cri_bad_tag"],
    ["2026-12-07T17:08:50Z stdout p x", "cri_bad_tag"],
  ];
  const decoder = new CriDecoder();
  const [first, last] = containerdLines("p".repeat(20_000), { stream: "stderr" });
  assert.equal(decoder.push(first ?? ""), undefined);
  cases.forEach(([line, code], i) => {
    const firstPiece = i + 2;
    assert.deepEqual(
      decoder.push(Buffer.from(line)),
      { text: line, lines: 1, error: code, firstPiece },
      line,
    );
  });
  assert.equal(decoder.pendingLines, 1);
  assert.ok(decoder.holds(1), "the pending line is the first input line");
  const joined = decoder.push(last ?? "");
  assert.equal(joined?.text, "p".repeat(20_000));
  assert.equal(joined?.firstPiece, 1, "a joined line starts where its first piece was");
  assert.deepEqual(
    [decoder.stats.lines, decoder.stats.records, decoder.stats.errors],
    [cases.length + 2, cases.length + 1, cases.length],
  );
  const binary = new CriDecoder().push(Buffer.from([0xff, 0x20, 0x00]));
  assert.deepEqual(binary, { text: "\uFFFD \u0000", lines: 1, error: "cri_bad_time", firstPiece: 1 });
});

test("flush emits the P pieces no F ended (output that ended without a newline), flagged partial", () => {
  const decoder = new CriDecoder();
  decoder.push("2026-12-07T17:08:50Z stderr P last words without newline");
  decoder.push("2026-12-07T17:08:50Z stdout P half");
  assert.deepEqual(decoder.flush(), [
    {
      time: "2026-12-07T17:08:50Z",
      timeMs: Date.UTC(2026, 11, 7, 17, 8, 50),
      stream: "stdout",
      text: "half",
      lines: 1,
      firstPiece: 2,
      partial: true,
    },
    {
      time: "2026-12-07T17:08:50Z",
      timeMs: Date.UTC(2026, 11, 7, 17, 8, 50),
      stream: "stderr",
      text: "last words without newline",
      lines: 1,
      firstPiece: 1,
      partial: true,
    },
  ]);
  assert.equal(decoder.pendingLines, 0);
});
