import type { EncodedBatch, OutMessage } from "./types.js";

/** One buffer for `messages` (each value UTF-8), with one key run per message. */
export function encodeMessages(messages: readonly OutMessage[]): EncodedBatch {
  const values = messages.map((m) => Buffer.from(m.value));
  const ends = new Uint32Array(values.length);
  let at = 0;
  values.forEach((v, i) => {
    at += v.length;
    ends[i] = at;
  });
  return {
    data: Buffer.concat(values),
    ends,
    keys: messages.map((m) => Buffer.from(m.key)),
    keyEnds: Uint32Array.from(messages, (_, i) => i + 1),
  };
}

/** The batch's messages one by one (for clients that take them so), values as views of `data`. */
export function decodeMessages(batch: EncodedBatch): { key: Buffer; value: Buffer }[] {
  const { data, ends, keys, keyEnds } = batch;
  const out: { key: Buffer; value: Buffer }[] = [];
  let run = 0;
  for (let i = 0; i < ends.length; i++) {
    while (i >= (keyEnds[run] as number)) run++;
    out.push({ key: keys[run] as Buffer, value: data.subarray(i === 0 ? 0 : ends[i - 1], ends[i]) });
  }
  return out;
}
