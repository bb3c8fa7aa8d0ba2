import { hostname } from "node:os";
import { z } from "zod";
import { teamSourcesSchema } from "../../common/container-labels.js";
import { compileLinearRegex } from "../../common/regex.js";
import { logTopicFields } from "../kafka/config.js";
import { logTreeFields } from "../sources.js";

/** Matched against container lines, so RE2 (linear time; see common/regex.ts). */
const regexSource = z
  .string()
  .min(1)
  .refine((s) => {
    try {
      compileLinearRegex(s, "");
      return true;
    } catch {
      return false;
    }
  }, "expected a regular expression in RE2 syntax (no backreferences or lookaround)");

/** The `ship:` section of boxscope.yaml; defaults are the embedded defaults. */
export const shipConfigSchema = z.strictObject({
  /** The logwatcher's flat directory of symlinks. */
  spool: z.string().min(1).default("/run/boxscope/spool"),
  /** Host log directory; its first level names the container (`<logRoot>/<container>/**`). */
  logRoot: z.string().min(1).default("/app/log"),
  ...logTopicFields,
  /**
   * Record batch compression. lz4 (default) cuts what the broker receives and stores many times
   * over for these JSON records (12.6:1 on the bench's) at little CPU (docs/pipeline.md); every
   * Kafka client reads it.
   */
  compression: z.enum(["none", "lz4", "gzip"]).default("lz4"),
  /**
   * The producer's `enable.idempotence`: a batch retried after a leader change is written once and
   * in order. Off only for a cluster that refuses idempotent producers (an ACL without
   * IDEMPOTENT_WRITE on a broker older than Kafka 2.8).
   */
  idempotence: z.boolean().default(true),
  /** Create the topic at start when missing (needs the broker's permission). */
  createTopic: z.boolean().default(true),
  topicPartitions: z.number().int().positive().default(3),
  /**
   * Positions file (JSON; `.bak` holds the previous generation). Not under /var/lib/boxscope: that
   * is the shim's read-only FUSE mountpoint, which would hide the file or refuse its writes.
   */
  positions: z.string().min(1).default("/var/lib/boxscope-ship/positions.json"),
  /** Recovery when the positions file is corrupt: `bak` previous generation, `end`, `start`. */
  positionsRecover: z.enum(["bak", "start", "end"]).optional(),
  /** Where files never seen before start: `beginning` (default) or `end`. */
  startAt: z.enum(["beginning", "end"]).default("beginning"),
  /** Host name written into every record. */
  host: z.string().min(1).default(hostname()),
  /** HOST:PORT to serve /metrics on (Prometheus text); unset = no metrics server. */
  metricsListen: z.string().min(1).optional(),
  pollIntervalMs: z.number().int().positive().default(250),
  /** An unterminated last line (or multi-line record) is shipped after this long without growth. */
  partialFlushMs: z.number().int().positive().default(5000),
  /** A file that left the spool is closed after being at its end this long. */
  orphanCloseMs: z.number().int().positive().default(5000),
  /** Lines longer than this are cut and flagged `truncated: true`. */
  maxLineBytes: z
    .number()
    .int()
    .positive()
    .default(256 * 1024),
  /** Multi-line records, and lines joined from a runtime's 16 KiB pieces, are cut at this size (flagged `truncated`). */
  maxRecordBytes: z
    .number()
    .int()
    .positive()
    .default(512 * 1024),
  /** A line matching this regex starts a record; others join the one before (e.g. `^\S`). */
  multilineFirstLine: regexSource.optional(),
  multilineMaxLines: z.number().int().positive().default(500),
  /**
   * Records per Kafka batch. librdkafka's acknowledgements come in waves, one per drained queue, so
   * larger batches keep it busier; `batchMaxBytes` binds first for lines of ordinary length, so
   * memory stays bounded.
   */
  batchMaxRecords: z.number().int().positive().default(10000),
  batchMaxBytes: z
    .number()
    .int()
    .positive()
    .default(768 * 1024),
  /** Batches sent but not yet acknowledged; reading pauses when all are in flight. */
  maxInFlightBatches: z.number().int().positive().default(16),
  maxOpenFiles: z.number().int().positive().default(1024),
  /** Positions are written at most this often (and at stop). */
  positionsFlushMs: z.number().int().positive().default(1000),
  /** Positions of files gone from the spool are forgotten after this long. */
  forgetAfterMs: z
    .number()
    .int()
    .positive()
    .default(24 * 3600 * 1000),
  /** Bytes read from a file at once (large reads: fewer system calls and passes per line). */
  readChunkBytes: z
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
  /**
   * Per container: its log files are read at most this fast (bytes/s; 0 = no limit), so that one
   * container writing floods cannot starve the others. Over it, its lines wait in its files (never
   * dropped) and `boxscope_ship_container_lag_seconds` grows.
   */
  containerRateBytes: z
    .number()
    .int()
    .nonnegative()
    .default(10 * 1024 * 1024),
  /** What a container may read at once after a quiet spell (the rate limit's bucket). */
  containerBurstBytes: z
    .number()
    .int()
    .positive()
    .default(32 * 1024 * 1024),
  /** The trees beside the log root (pipeline/sources.ts): set as in the logwatcher section. */
  ...logTreeFields,
  /** Where a record's `team` comes from (as the exporter's `team`). */
  team: teamSourcesSchema,
});

export type ShipConfig = z.infer<typeof shipConfigSchema>;
