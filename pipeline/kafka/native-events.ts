/**
 * What both librdkafka bindings (producer.c, consumer.c) share on the JavaScript side: their events
 * come through one callback, `onEvent(kind, a, b, text, facility)`, each kind saying what a and b
 * hold (pipeline/native/src/rdkafka-glue.h); their settings go in as strings.
 */
import { BoxscopeError } from "../../common/errors.js";

export type NativeEventListener = (
  kind: number,
  a: number,
  b: number,
  text: string | null,
  facility: string | null,
) => void;

export const NativeEvent = {
  /** producer: a batch settled (a = batch id, b = messages failed, text = first error). */
  batchDone: 0,
  /** a librdkafka log line (a = syslog level, text, facility). */
  log: 1,
  /** an error outside any one message (a = librdkafka error code, b = 1 when fatal, text). */
  error: 2,
  /** producer: closed, after every batch was reported. */
  closed: 3,
  /** consumer: partitions assigned or revoked (a = generation after it, b = partitions assigned). */
  rebalance: 4,
} as const;

/** librdkafka takes every setting as a string. */
export function librdkafkaConfig(config: Record<string, string | number | boolean>): Record<string, string> {
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, String(v)]));
}

/** A request a binding answered with an error (`message`, librdkafka's text). */
export function kafkaRequestFailed(operation: string, message: string): BoxscopeError {
  return new BoxscopeError("BXS_KAFKA_REQUEST_FAILED", message, { context: { operation } });
}
