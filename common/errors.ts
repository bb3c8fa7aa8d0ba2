/**
 * How boxscope reports what went wrong: one error type, BoxscopeError, with a stable `code` from
 * ERROR_CODES (as fastify gives each of its errors a FST_ERR_* code). Logs, alerts and tests match
 * the code; the message is for people and may be reworded.
 *
 * - Anything a user, the host, a container or a peer (Kafka, Elasticsearch, systemd) can cause is a
 *   BoxscopeError with a code. Its message is one line saying what was being done and on what (the
 *   CLI prints it as is before exiting), `context` holds the values, `cause` the underlying error.
 * - An operation that cannot give its answer throws it (or rejects with it). Bad input from a user
 *   (flags, config, environment) is a UsageError: the command exits 2 on it.
 * - An operation whose answer can be partly read returns what it read with what it could not, as
 *   WithErrors: the cgroup readers give a container's memory even when its swap files are
 *   unreadable, and the views fill the gaps with the host's values. Those errors are BoxscopeErrors
 *   with codes too, collected, never thrown.
 * - A plain Error is a bug: an invariant of boxscope's own code that does not hold.
 *
 * Codes are never renamed or reused for another meaning; a new failure gets a new code here.
 */

/** Every code an error of boxscope can carry, each with what it means. */
export const ERROR_CODES = {
  // Bad input from a user (UsageError, exit 2, unless noted).
  BXS_CONFIG_FILE_UNREADABLE:
    "a file the configuration names (boxscope.yaml, a mapping file, kmsgPath) cannot be read",
  BXS_CONFIG_FILE_INVALID: "boxscope.yaml is not YAML, or not a mapping of known sections",
  BXS_CONFIG_INVALID:
    "a configuration value (file, environment or flag) is invalid; the message names the key",
  BXS_CONFIG_ENV_UNKNOWN: "a BOXSCOPE_* environment variable names no setting",
  BXS_FLAG_INVALID: "a command-line flag or argument is invalid",
  BXS_VIEW_UNKNOWN: "no such view (shim render, or a read of the mount)",
  BXS_PID_INVALID: "a pid that is not a positive integer",
  BXS_PROCESS_NOT_FOUND: "no such process",
  BXS_CGROUP_NOT_FOUND: "no such cgroup",

  // The host or the environment (exit 1).
  BXS_DIRECTORY_UNUSABLE: "a directory boxscope needs cannot be created or used as given",
  BXS_NATIVE_ADDON_MISSING: "a native addon was not built",
  BXS_NATIVE_OUT_OF_MEMORY: "a native addon could not allocate memory (thrown by the addon)",
  BXS_NATIVE_HANDLE_INVALID:
    "a native addon was given something that is not one of its own handles (a TypeError)",
  BXS_NATIVE_NAPI_FAILED: "a Node-API call inside a native addon failed (thrown by the addon)",
  BXS_LISTEN_FAILED: "an HTTP server cannot listen on its address",
  BXS_SYSTEMD_NOTIFY_FAILED: "systemd-notify could not deliver a message to systemd",
  BXS_MOUNTPOINT_UNUSABLE: "the shim's mount point cannot be used (stale or live mount, not a directory)",
  BXS_HANDOVER_REFUSED: "a running shim daemon serves the mount point and did not hand it over",
  BXS_FUSE_SESSION_ENDED: "the FUSE session ended without being stopped",
  BXS_UP_NOTHING_STARTED: "`boxscope up` could start no part on this host",
  BXS_UP_PART_UNAVAILABLE: "a part `boxscope up` was told to run (mode on) cannot run on this host",
  BXS_JOURNALCTL_UNAVAILABLE: "journalctl cannot be run",
  BXS_HOST_FORMAT_UNEXPECTED: "a host /proc or /sys file is not in the format the kernel documents",
  BXS_CPU_LIST_INVALID: "a CPU list (cpuset, online) is not in the kernel's list format",

  // Reading a cgroup (collected in WithErrors.errors, never thrown).
  BXS_CGROUP_CONTROLLER_MISSING: "a cgroup controller is not mounted",
  BXS_CGROUP_FILE_MISSING: "a cgroup file a value needs is not there (a vanished cgroup, an old kernel)",
  BXS_CGROUP_FILE_UNREADABLE: "a cgroup file is there but cannot be read (EACCES, EIO...)",
  BXS_CGROUP_VALUE_INVALID: "a cgroup file's content cannot be parsed",
  BXS_HOST_FILE_UNREADABLE: "a host /proc or /sys file a reading falls back to cannot be read",

  // The log pipeline's peers and state.
  BXS_POSITIONS_CORRUPT: "ship's positions file (and its recovery choice) cannot be used",
  BXS_POSITIONS_UNWRITABLE: "ship cannot write in its positions file's directory",
  BXS_POSITIONS_NOT_SAVED: "ship stopped without saving its positions (exit 3)",
  BXS_KAFKA_REQUEST_FAILED: "a Kafka request (metadata, topic creation, fetch, commit) failed",
  BXS_KAFKA_DELIVERY_FAILED: "Kafka did not acknowledge messages of a batch",
  BXS_KAFKA_PRODUCER_CLOSED: "a batch was sent to, or left in, a closed Kafka producer",
  BXS_KAFKA_FATAL: "librdkafka reported a fatal error: the client cannot go on",
  BXS_KAFKA_CONSUMER_STOPPED: "the indexer's Kafka consumer stopped for good",
  BXS_KAFKA_UNREACHABLE: "stopped before Kafka was reachable",
  BXS_ELASTICSEARCH_ANSWER_UNSURE: "Elasticsearch's answer does not say for sure what is indexed",
} as const satisfies Record<string, string>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorDetails {
  /** The values the message is about (a path, a key), for logs. */
  readonly context?: Record<string, unknown>;
  readonly cause?: unknown;
  /** The process exit code when this ends a command (1 unless a command documents another). */
  readonly exitCode?: number;
}

/** An error whose message is fit to show a user as the single line a command prints before exiting. */
export class BoxscopeError extends Error {
  readonly code: ErrorCode;
  readonly context: Record<string, unknown>;
  readonly exitCode: number;
  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "BoxscopeError";
    this.code = code;
    this.context = details.context ?? {};
    this.exitCode = details.exitCode ?? 1;
  }

  /** What a log line or a JSON answer shows of it (an Error's message is not an own enumerable property). */
  toJSON(): { code: ErrorCode; message: string; context: Record<string, unknown> } {
    return { code: this.code, message: this.message, context: this.context };
  }
}

/** Bad input from a user: config, flags, arguments. The CLI exits 2 on these. */
export class UsageError extends BoxscopeError {
  constructor(code: ErrorCode, message: string, details: Omit<ErrorDetails, "exitCode"> = {}) {
    super(code, message, { ...details, exitCode: 2 });
    this.name = "UsageError";
  }
}

/**
 * A reading that can be partial: what could be read (`data`), and what could not (`errors`). A
 * reader of this kind never throws for what it reads.
 */
export interface WithErrors<T> {
  readonly data: T;
  readonly errors: BoxscopeError[];
}

/** `errno` of a Node system error (`ENOENT`...), or undefined; a BoxscopeError's code is not an errno. */
export function errnoCode(e: unknown): string | undefined {
  return typeof e === "object" &&
    e !== null &&
    !(e instanceof BoxscopeError) &&
    "code" in e &&
    typeof e.code === "string"
    ? e.code
    : undefined;
}
