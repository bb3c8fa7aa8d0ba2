import assert from "node:assert/strict";
import { test } from "node:test";
import { dockerdLines, RUNTIME_PIECE_BYTES } from "../../test/helpers/runtime-log-writers.js";
import { DockerJsonDecoder, type DockerJsonRecord } from "./docker-json.js";

/** Every record the decoder gives for `lines`, then those `flush` gives. */
function decodeAll(decoder: DockerJsonDecoder, lines: (string | Buffer)[]): DockerJsonRecord[] {
  const out: DockerJsonRecord[] = [];
  for (const line of lines) {
    const record = decoder.push(line);
    if (record) out.push(record);
  }
  return [...out, ...decoder.flush()];
}

test("a line as dockerd writes it: text without its newline, the original time and its epoch ms", () => {
  const decoder = new DockerJsonDecoder();
  const record = decoder.push(
    '{"log":"hello \\u003cworld\\u003e\\n","stream":"stderr","time":"2026-12-07T17:08:50.123456789Z"}',
  );
  assert.deepEqual(record, {
    time: "2026-12-07T17:08:50.123456789Z",
    timeMs: Date.UTC(2026, 11, 7, 17, 8, 50, 123),
    stream: "stderr",
    text: "hello <world>",
    lines: 1,
    firstPiece: 1,
  });
  const withAttrs = decoder.push(
    dockerdLines("x", { attrs: { tag: "web" }, time: "2026-12-07T17:08:51Z" })[0] ?? "",
  );
  assert.deepEqual(withAttrs?.attrs, { tag: "web" });
  assert.equal(withAttrs?.timeMs, Date.UTC(2026, 11, 7, 17, 8, 51));
  assert.equal(decoder.push(dockerdLines("")[0] ?? "")?.text, "", "an empty line is a record");
});

test("a 100 KiB line split into 16 KiB entries comes back as one record", () => {
  const line = Buffer.from("0123456789abcdef".repeat(6400)); // 102 400 bytes
  const entries = dockerdLines(line, { time: "2026-12-07T17:08:50.5Z" });
  assert.equal(entries.length, 7, "six full 16 KiB pieces and the 4 KiB rest");
  const decoder = new DockerJsonDecoder();
  const results = entries.map((e) => decoder.push(e));
  assert.deepEqual(results.slice(0, 6), [undefined, undefined, undefined, undefined, undefined, undefined]);
  assert.equal(decoder.pendingLines, 0);
  const record = results[6];
  assert.equal(record?.text, line.toString());
  assert.equal(record?.lines, 7);
  assert.equal(record?.time, "2026-12-07T17:08:50.5Z");
  assert.equal(record?.truncated, undefined);
});

test("a line of exactly two pieces: dockerd's empty last entry ends it", () => {
  const line = "x".repeat(2 * RUNTIME_PIECE_BYTES);
  const entries = dockerdLines(line);
  assert.equal(entries.length, 3);
  assert.match(entries[2] ?? "", /^\{"log":"\\n"/);
  const records = decodeAll(new DockerJsonDecoder(), entries);
  assert.deepEqual(
    records.map((r) => [r.text.length, r.lines]),
    [[line.length, 3]],
  );
});

test("stdout and stderr pieces interleaved as dockerd's two copiers write them are joined per stream", () => {
  const out = `out:${"o".repeat(40_000)}`;
  const err = `err:${"e".repeat(20_000)}`;
  const outLines = dockerdLines(out, { stream: "stdout", time: "2026-12-07T17:08:50.1Z" });
  const errLines = dockerdLines(err, { stream: "stderr", time: "2026-12-07T17:08:50.2Z" });
  const short = dockerdLines("between", { stream: "stderr", time: "2026-12-07T17:08:50.3Z" });
  // out0 err0 out1 err1(last) out2(last) — and a short stderr line after err's last piece.
  const mixed = [outLines[0], errLines[0], outLines[1], errLines[1], ...short, outLines[2]].map(
    (l) => l ?? "",
  );
  const decoder = new DockerJsonDecoder();
  const results = mixed.map((l) => decoder.push(l));
  assert.deepEqual(
    results.map((r) => (r ? [r.stream, r.text.slice(0, 4), r.text.length, r.time] : undefined)),
    [
      undefined,
      undefined,
      undefined,
      ["stderr", "err:", err.length, "2026-12-07T17:08:50.2Z"],
      ["stderr", "betw", 7, "2026-12-07T17:08:50.3Z"],
      ["stdout", "out:", out.length, "2026-12-07T17:08:50.1Z"],
    ],
  );
  assert.equal(results[5]?.text, out);
});

test("CRLF: the line end's \\r goes with the \\n, a \\r inside the text stays", () => {
  const decoder = new DockerJsonDecoder();
  const texts = [...dockerdLines("dos line\r"), ...dockerdLines("a\rb\r"), ...dockerdLines("\r")].map(
    (l) => decoder.push(l)?.text,
  );
  assert.deepEqual(texts, ["dos line", "a\rb", ""]);
  // A long line whose "\r" ends one piece and whose "\n" is the next piece's only byte.
  const long = `${"y".repeat(RUNTIME_PIECE_BYTES - 1)}\r`;
  const pieces = dockerdLines(long);
  assert.equal(pieces.length, 2);
  assert.deepEqual(
    decodeAll(decoder, pieces).map((r) => r.text),
    ["y".repeat(RUNTIME_PIECE_BYTES - 1)],
  );
});

test("UTF-8 at piece boundaries: dockerd already wrote a cut character as U+FFFD per byte; joining adds no damage", () => {
  const decoder = new DockerJsonDecoder();
  // "€" is 3 bytes; after 16 383 ASCII bytes its first byte ends piece 1, the other two start piece 2.
  const cut = Buffer.from(`${"a".repeat(RUNTIME_PIECE_BYTES - 1)}€ and 😀 after`);
  const cutLines = dockerdLines(cut);
  assert.match(cutLines[0] ?? "", /a\\ufffd","stream"/, "dockerd's own encoding of the cut character");
  const joined = decodeAll(decoder, cutLines);
  assert.equal(joined[0]?.text, `${"a".repeat(RUNTIME_PIECE_BYTES - 1)}\uFFFD\uFFFD\uFFFD and 😀 after`);
  // Characters within a piece, and a piece ending exactly after a whole character, survive intact,
  // whether the file's lines are pushed as strings or as Buffers.
  const whole = `${"b".repeat(RUNTIME_PIECE_BYTES - 4)}😀ü€\u2028 <&>`;
  const asStrings = decodeAll(new DockerJsonDecoder(), dockerdLines(whole));
  const asBuffers = decodeAll(
    new DockerJsonDecoder(),
    dockerdLines(whole).map((l) => Buffer.from(l)),
  );
  assert.equal(asStrings[0]?.text, whole);
  assert.equal(asBuffers[0]?.text, whole);
});

test("a line over maxRecordBytes is cut at a character boundary, flagged, the rest of its pieces counted", () => {
  const decoder = new DockerJsonDecoder({ maxRecordBytes: 40_000 });
  const line = "z".repeat(100 * 1024);
  const [record, next] = decodeAll(decoder, [...dockerdLines(line), ...dockerdLines("next")]);
  assert.equal(record?.text, "z".repeat(40_000));
  assert.equal(record?.truncated, true);
  assert.equal(record?.droppedBytes, 100 * 1024 - 40_000);
  assert.equal(record?.lines, 7);
  assert.deepEqual([next?.text, next?.truncated], ["next", undefined]);
  assert.equal(decoder.stats.droppedBytes, 100 * 1024 - 40_000);
  assert.equal(decoder.stats.truncatedRecords, 1);

  const small = new DockerJsonDecoder({ maxRecordBytes: 10 });
  const euro = small.push(dockerdLines("€€€€")[0] ?? "");
  assert.deepEqual([euro?.text, euro?.droppedBytes], ["€€€", 3], "9 bytes kept: a 4th € would not fit whole");
  const split = decodeAll(small, dockerdLines("12345678€€", { pieceBytes: 11 }));
  assert.deepEqual([split[0]?.text, split[0]?.droppedBytes, split[0]?.lines], ["12345678", 6, 2]);
});

test("malformed lines come back raw with a stable error code, one record each, without disturbing a pending line", () => {
  const time = '"time":"2026-12-07T17:08:50Z"';
  const cases: [string, string][] = [
    ["not json at all", "docker_json_invalid"],
    ['{"log":"cut in the mid', "docker_json_invalid"],
    ['["log","x\\n"]', "docker_json_invalid"],
    ["null", "docker_json_invalid"],
    ["", "docker_json_invalid"],
    [`{"stream":"stdout",${time}}`, "docker_json_bad_log"],
    [`{"log":42,"stream":"stdout",${time}}`, "docker_json_bad_log"],
    [`{"log":"x\\n",${time}}`, "docker_json_bad_stream"],
    [`{"log":"x\\n","stream":"stdin",${time}}`, "docker_json_bad_stream"],
    ['{"log":"x\\n","stream":"stdout"}', "docker_json_bad_time"],
    ['{"log":"x\\n","stream":"stdout","time":1733591330}', "docker_json_bad_time"],
    ['{"log":"x\\n","stream":"stdout","time":"2026-02-29T00:00:00Z"}', "docker_json_bad_time"],
    ['{"log":"x\\n","stream":"stdout","time":"2026-12-07 17:08:50Z"}', "docker_json_bad_time"],
    [`{"log":"x\\n","stream":"stdout","attrs":{"n":1},${time}}`, "docker_json_bad_attrs"],
    [`{"log":"x\\n","stream":"stdout","attrs":["a"],${time}}`, "docker_json_bad_attrs"],
  ];
  const decoder = new DockerJsonDecoder();
  const [first, last] = dockerdLines("p".repeat(20_000));
  assert.equal(decoder.push(first ?? ""), undefined);
  cases.forEach(([line, code], i) => {
    assert.deepEqual(decoder.push(line), { text: line, lines: 1, error: code, firstPiece: i + 2 }, line);
  });
  assert.equal(decoder.pendingLines, 1);
  assert.equal(decoder.push(last ?? "")?.text, "p".repeat(20_000));
  assert.equal(decoder.stats.errors, cases.length);
  assert.equal(decoder.stats.records, cases.length + 1);
  assert.equal(decoder.stats.lines, cases.length + 2);

  const bytes = new DockerJsonDecoder().push(Buffer.from([0x7b, 0xff, 0x00, 0x7d]));
  assert.deepEqual(bytes, { text: "{\uFFFD\u0000}", lines: 1, error: "docker_json_invalid", firstPiece: 1 });
  const long = new DockerJsonDecoder({ maxRecordBytes: 5 }).push("not json at all");
  assert.deepEqual(long, {
    text: "not j",
    lines: 1,
    firstPiece: 1,
    error: "docker_json_invalid",
    truncated: true,
    droppedBytes: 10,
  });
});

test("flush emits the lines whose last piece never came, flagged partial", () => {
  const decoder = new DockerJsonDecoder();
  const [outPiece] = dockerdLines("o".repeat(RUNTIME_PIECE_BYTES + 5), { stream: "stdout" });
  const [errPiece] = dockerdLines("e".repeat(RUNTIME_PIECE_BYTES + 5), { stream: "stderr" });
  decoder.push(errPiece ?? "");
  decoder.push(outPiece ?? "");
  assert.equal(decoder.pendingLines, 2);
  const flushed = decoder.flush();
  assert.deepEqual(
    flushed.map((r) => [r.stream, r.text.length, r.partial, r.lines]),
    [
      ["stdout", RUNTIME_PIECE_BYTES, true, 1],
      ["stderr", RUNTIME_PIECE_BYTES, true, 1],
    ],
  );
  assert.deepEqual(decoder.flush(), []);
  assert.equal(decoder.stats.partialRecords, 2);
});

test("maxRecordBytes must be a positive integer", () => {
  assert.throws(() => new DockerJsonDecoder({ maxRecordBytes: 0 }), RangeError);
  assert.throws(() => new DockerJsonDecoder({ maxRecordBytes: 1.5 }), RangeError);
});
