import kafkajs from "kafkajs";
import { loadNativeBinding } from "../native/binding.js";

/** logwatcher/native/src/lz4.c, as JavaScript sees it. */
interface Lz4Binding {
  compressFrame(data: Buffer): Buffer;
  decompressFrame(data: Buffer): Buffer;
}

/**
 * Teaches kafkajs Kafka's "lz4" record batches, which `boxscope ship` produces by default
 * (docs/pipeline.md): kafkajs ships without an LZ4 codec and takes one through its codec table.
 * The binding is loaded on the first lz4 batch, so a client that never meets one never loads it.
 */
export function registerLz4Codec(): void {
  const binding = () => loadNativeBinding<Lz4Binding>("boxscope_lz4");
  // kafkajs is CommonJS: its codec table is reached through the default export.
  kafkajs.CompressionCodecs[kafkajs.CompressionTypes.LZ4] = () => ({
    compress: async (encoder: { buffer: Buffer }) => binding().compressFrame(encoder.buffer),
    decompress: async (buffer: Buffer) => binding().decompressFrame(buffer),
  });
}
