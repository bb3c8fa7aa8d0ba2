import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { type TestContext, test } from "node:test";
import kafkajs from "kafkajs";
import { registerLz4Codec } from "../../logwatcher/kafka/lz4-codec.js";
import { hasCommand, requirePrereq } from "../helpers/prereq.js";

interface Codec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

function codec(): Codec {
  registerLz4Codec();
  return kafkajs.CompressionCodecs[kafkajs.CompressionTypes.LZ4]() as Codec;
}

const lz4Cli = (args: string[], input: Buffer): Buffer => execFileSync("lz4", args, { input });
const lz4Ok = (t: TestContext) =>
  requirePrereq(t, hasCommand("lz4"), "the lz4 tool (Debian lz4) checks the frames");

test("what the codec compresses it decompresses, and so does the lz4 tool", async (t) => {
  if (!lz4Ok(t)) return;
  const c = codec();
  const records = Buffer.from(
    Array.from(
      { length: 5000 },
      (_, i) => `{"offset":${i},"line":"GET /api/v1/items 200 took_ms=${i % 97}"}`,
    ).join(""),
  );
  for (const data of [records, randomBytes(300_000), Buffer.alloc(0)]) {
    const packed = await c.compress({ buffer: data });
    assert.deepEqual(await c.decompress(packed), data);
    assert.deepEqual(lz4Cli(["-dc"], packed), data, "a standard LZ4 frame");
  }
  assert.ok((await c.compress({ buffer: records })).length < records.length / 4);
});

test("frames written by others (linked blocks, no content size, back to back) are read", async (t) => {
  if (!lz4Ok(t)) return;
  const c = codec();
  const data = randomBytes(200_000);
  const frame = lz4Cli(["-c", "-B4", "-BD", "--no-frame-crc"], data);
  assert.deepEqual(await c.decompress(frame), data);
  assert.deepEqual(await c.decompress(Buffer.concat([frame, frame])), Buffer.concat([data, data]));
});

test("a damaged frame is one error naming what is wrong", async () => {
  const c = codec();
  const frame = await c.compress({ buffer: randomBytes(100_000) });
  await assert.rejects(c.decompress(Buffer.alloc(0)), /lz4: invalid frame: empty input/);
  await assert.rejects(
    c.decompress(Buffer.from("not a frame")),
    /lz4: invalid frame: ERROR_frameType_unknown/,
  );
  await assert.rejects(
    c.decompress(frame.subarray(0, frame.length - 10)),
    /lz4: invalid frame: truncated frame/,
  );
  await assert.rejects(c.decompress(frame.subarray(0, 5)), /lz4: invalid frame/);
});
