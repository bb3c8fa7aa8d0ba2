import type { InMessage } from "../kafka/types.js";
import { loadNativeBinding } from "../native/binding.js";

/** pipeline/native/src/documents.c, as JavaScript sees it. */
interface DocumentsBinding {
  bulkBody(values: (Buffer | null)[], indexPrefix: string): Buffer | null;
}

/**
 * The `_bulk` body of a chunk in one native call, byte for byte what `prepareDocument` and
 * `bulkBody` write, when every record is a plain shipper record; null when any record needs the
 * JavaScript path (a replayed record, a record to dead-letter, anything documents.c does not take).
 */
export function nativeBulkBody(messages: readonly InMessage[], indexPrefix: string): Buffer | null {
  const values = new Array<Buffer | null>(messages.length);
  for (let i = 0; i < messages.length; i++) values[i] = (messages[i] as InMessage).value;
  return loadNativeBinding<DocumentsBinding>("boxscope_documents").bulkBody(values, indexPrefix);
}
