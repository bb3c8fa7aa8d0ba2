/**
 * The host's systemd journal as a plain log file, for the log pipeline's `source=host`.
 *
 * Why the journal: on Debian 12 and later (and most current distributions) the journal is the
 * system log; rsyslog, which wrote /var/log/syslog, is no longer installed by default. Hosts that
 * still run it can ship /var/log/syslog as an ordinary file; everything else has only the journal.
 *
 * Why through a file: `journalctl --follow --output=json` is run and its lines appended to
 * `<outputDir>/journal.log`, which the shipper then tails like any other log file. The journal's
 * own files are a binary database (entries, hash tables and indexes written in place), not lines
 * a tailer can follow, and what a file already gives the pipeline (positions saved only after
 * Kafka acknowledged, restart without loss, rotation, one decoder per file) would otherwise have
 * to be built again for a second kind of source. The file is also where this follower keeps its
 * own position: the `__CURSOR` of the last whole line in it is where a restart resumes
 * (`--after-cursor`), so the position can never be ahead of what was written, and no state file
 * can disagree with it. A crash can at most write an entry twice (at-least-once, as the rest of
 * the pipeline), never skip one.
 *
 * The file's format: one journal entry per line exactly as journalctl prints it with `--output=json
 * --all` (`journal-json.ts` decodes it), restricted to `JOURNAL_OUTPUT_FIELDS` (journalctl always
 * adds `__CURSOR`, `__REALTIME_TIMESTAMP`, `__MONOTONIC_TIMESTAMP` and `_BOOT_ID`). `--all`
 * because without it journalctl prints any value over 4096 bytes as null. An entry whose line is
 * longer than `maxLineBytes` gets its MESSAGE cut to fit and `_BOXSCOPE_DROPPED_BYTES` added
 * (`entry-lines.ts`), so that the shipper's own line bound never cuts an entry into invalid JSON.
 *
 * - Start: after the last cursor written (in `journal.log`, else its newest rotated copy); with no
 *   output yet, new entries only (`startAt: "end"`, the default) or the whole journal
 *   (`"beginning"`).
 * - Rotation: before a line would take `journal.log` past `maxFileBytes`, the file is renamed
 *   `journal.log.1` (`.1` to `.2`…, `keepFiles` copies kept, the oldest deleted), as logrotate
 *   does; the shipper reads a renamed file to its end.
 * - journalctl ending on its own (killed, a journal it cannot read, a bad directory) is logged once
 *   with its exit status and the end of its stderr, and it is started again after a back-off that
 *   doubles up to `maxRestartDelayMs` (and starts over once entries flow again). A write that fails
 *   (a full disk) is handled the same way. Nothing here ends the process.
 * - Memory: journalctl's stdout is read one chunk at a time, the next only once the chunk's lines
 *   are written (the pipe's back-pressure holds journalctl); at most one entry of `maxEntryBytes`
 *   is held.
 * - Reading the journal needs root or the groups systemd-journal or adm. `journalDirectory` (a
 *   container given the host's /var/log/journal) is read with its machine-id subdirectories.
 *
 * `boxscope logwatcher` runs it with `hostLogs: journal`; `boxscope ship` reads its file as the
 * host tree (pipeline/sources.ts).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { statSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { makeDirs } from "../../common/dirs.js";
import { BoxscopeError, errnoCode } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import type { RunningService } from "../../common/service.js";
import { type EntryLineStats, EntryLines } from "./entry-lines.js";
import { JournalOutputFile, journalFilePath, lastWrittenCursor } from "./output-file.js";

/**
 * The fields kept of each entry: the message, when and how bad, who logged it, how it came in.
 * Bounded on purpose: an entry can carry dozens of fields (command lines, code locations, audit
 * data) that would multiply the file's size.
 */
export const JOURNAL_OUTPUT_FIELDS = [
  "MESSAGE",
  "PRIORITY",
  "SYSLOG_FACILITY",
  "SYSLOG_IDENTIFIER",
  "_SYSTEMD_UNIT",
  "_SYSTEMD_USER_UNIT",
  "_PID",
  "_UID",
  "_COMM",
  "_HOSTNAME",
  "_TRANSPORT",
  "CONTAINER_NAME",
] as const;

export interface JournalFollowerOptions {
  /** Where `journal.log` and its rotated copies go; created (0750) when missing. */
  outputDir: string;
  /** Read the journal files in this directory (`journalctl --directory`) instead of the system journal. */
  journalDirectory?: string;
  /** With no output yet: `end` (default) follows new entries only, `beginning` the whole journal first. */
  startAt?: "end" | "beginning";
  /** `journal.log` is rotated before a line would take it past this size. Default 64 MiB. */
  maxFileBytes?: number;
  /** Rotated copies kept (`journal.log.1` … `.N`). Default 2. */
  keepFiles?: number;
  /**
   * Longest line written; a longer entry has its MESSAGE cut to fit. Default 192 KiB, below the
   * shipper's default line bound (256 KiB), so that the shipper never cuts an entry's JSON.
   */
  maxLineBytes?: number;
  /** Longest entry held to be cut; a longer one is dropped and counted. Default 16 MiB. */
  maxEntryBytes?: number;
  /** The journalctl binary. Default "journalctl" (found on PATH). */
  journalctl?: string;
  /** First delay before starting journalctl again after it ended. Default 1 s. */
  minRestartDelayMs?: number;
  /** Longest such delay. Default 60 s. */
  maxRestartDelayMs?: number;
}

export interface JournalFollowerDeps {
  logger: Logger;
}

/** Counters of a follower (for metrics and tests). */
export interface JournalFollowerStats extends EntryLineStats {
  /** journalctl runs started. */
  starts: number;
  /** Of which ended on their own (not by stop()). */
  exits: number;
  /** Lines written to the output file. */
  lines: number;
  /** Rotations of `journal.log`. */
  rotations: number;
  /** Writes to the output file that failed. */
  writeErrors: number;
}

export interface JournalFollower extends RunningService {
  readonly stats: JournalFollowerStats;
}

interface ResolvedOptions {
  outputDir: string;
  journalDirectory: string | undefined;
  startAt: "end" | "beginning";
  maxFileBytes: number;
  keepFiles: number;
  maxLineBytes: number;
  maxEntryBytes: number;
  journalctl: string;
  minRestartDelayMs: number;
  maxRestartDelayMs: number;
}

/** How much of journalctl's stderr is kept for the message when it ends. */
const STDERR_TAIL_BYTES = 2048;
/** stderr lines logged as warnings, per run (journalctl warns about each damaged journal file). */
const STDERR_LINES_LOGGED = 20;
/** A stderr line still unexplained by an exit after this long is logged as a warning. */
const STDERR_SETTLE_MS = 1000;

/**
 * journalctl's stderr. What it writes while it goes on running (a damaged journal file skipped,
 * no permission to read the system journal's files) is a warning to log; what it writes just
 * before it exits is the reason for the exit, which goes into the one error line about it. So a
 * line is logged once journalctl is seen to go on (it gives entries, or a second passes), and a
 * line still held at the exit goes only into the exit's error.
 */
class JournalctlStderr {
  private tail = "";
  /** The start of a line whose end has not come yet. */
  private partial = "";
  private held: string[] = [];
  private logged = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly log: Logger) {}

  add(text: string): void {
    this.tail = (this.tail + text).slice(-STDERR_TAIL_BYTES);
    const lines = (this.partial + text).split("\n");
    this.partial = (lines.pop() ?? "").slice(-STDERR_TAIL_BYTES);
    for (const line of lines) {
      if (line.trim() !== "" && this.logged + this.held.length < STDERR_LINES_LOGGED) this.held.push(line);
    }
    if (this.held.length > 0) this.timer ??= setTimeout(() => this.flush(), STDERR_SETTLE_MS);
  }

  /** Logs the held lines as warnings. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const line of this.held) this.log.warn({ stderr: line }, "host journal: journalctl says");
    this.logged += this.held.length;
    this.held = [];
  }

  /** At the exit: the end of everything it wrote; held lines are not logged on their own. */
  end(): string {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.held = [];
    return this.tail.trim();
  }
}

function positiveInt(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new BoxscopeError(
      "BXS_CONFIG_INVALID",
      `host journal: ${name} must be a positive integer, not ${value}`,
    );
  }
  return value;
}

function resolveOptions(o: JournalFollowerOptions): ResolvedOptions {
  const maxLineBytes = positiveInt("maxLineBytes", o.maxLineBytes ?? 192 * 1024);
  const resolved: ResolvedOptions = {
    outputDir: o.outputDir,
    journalDirectory: o.journalDirectory,
    startAt: o.startAt ?? "end",
    maxFileBytes: positiveInt("maxFileBytes", o.maxFileBytes ?? 64 * 1024 * 1024),
    keepFiles: positiveInt("keepFiles", o.keepFiles ?? 2),
    maxLineBytes,
    maxEntryBytes: positiveInt("maxEntryBytes", o.maxEntryBytes ?? Math.max(16 << 20, maxLineBytes)),
    journalctl: o.journalctl ?? "journalctl",
    minRestartDelayMs: positiveInt("minRestartDelayMs", o.minRestartDelayMs ?? 1000),
    maxRestartDelayMs: positiveInt("maxRestartDelayMs", o.maxRestartDelayMs ?? 60_000),
  };
  if (resolved.maxEntryBytes < maxLineBytes) {
    throw new BoxscopeError(
      "BXS_CONFIG_INVALID",
      "host journal: maxEntryBytes must be at least maxLineBytes",
    );
  }
  return resolved;
}

/** Runs `journalctl --version`: a missing or unrunnable binary is a clear error at start. */
async function checkJournalctl(path: string): Promise<void> {
  const outcome = await new Promise<{ code: number | null; error?: unknown }>((resolve) => {
    const child = spawn(path, ["--version"], { stdio: "ignore" });
    child.once("error", (error) => resolve({ code: null, error }));
    child.once("exit", (code) => resolve({ code }));
  });
  if (outcome.error !== undefined) {
    const code = errnoCode(outcome.error);
    const why =
      code === "ENOENT" ? "not found (is the systemd package installed?)" : (code ?? String(outcome.error));
    throw new BoxscopeError("BXS_JOURNALCTL_UNAVAILABLE", `host journal: cannot run ${path}: ${why}`);
  }
  if (outcome.code !== 0) {
    throw new BoxscopeError(
      "BXS_JOURNALCTL_UNAVAILABLE",
      `host journal: ${path} --version exited with ${outcome.code}`,
    );
  }
}

function checkJournalDirectory(dir: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (e) {
    throw new BoxscopeError(
      "BXS_DIRECTORY_UNUSABLE",
      `host journal: journalDirectory ${dir}: ${errnoCode(e) ?? String(e)}`,
    );
  }
  if (!isDir)
    throw new BoxscopeError(
      "BXS_DIRECTORY_UNUSABLE",
      `host journal: journalDirectory ${dir}: not a directory`,
    );
}

/** journalctl's arguments: follow from `cursor`, or from where `startAt` says when there is none. */
export function journalctlArgs(
  o: Pick<ResolvedOptions, "journalDirectory" | "startAt">,
  cursor: string | undefined,
  sinceSeconds?: number,
): string[] {
  const args = [
    "--follow",
    "--output=json",
    "--all",
    "--no-pager",
    `--output-fields=${JOURNAL_OUTPUT_FIELDS.join(",")}`,
  ];
  if (o.journalDirectory !== undefined) args.push(`--directory=${o.journalDirectory}`);
  // --follow alone starts with the last 10 entries, even after a cursor: --no-tail says all of them.
  if (cursor !== undefined) args.push(`--after-cursor=${cursor}`, "--no-tail");
  else if (sinceSeconds !== undefined) args.push(`--since=@${sinceSeconds}`, "--no-tail");
  else if (o.startAt === "beginning") args.push("--no-tail");
  else args.push("--lines=0");
  return args;
}

/** How one journalctl run ended. */
interface RunEnd {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  /** Lines it gave that were written. */
  lines: number;
  /** The write (or open) that failed, if one did. */
  writeError?: unknown;
  /** Set when journalctl could not even be started. */
  spawnError?: unknown;
}

/**
 * Starts following the journal into `<outputDir>/journal.log`. Throws a BoxscopeError (one line)
 * when journalctl cannot run, `journalDirectory` is not a directory, or the output directory
 * cannot be made; after that it runs until stop(), whatever journalctl does.
 */
export async function startJournalFollower(
  options: JournalFollowerOptions,
  deps: JournalFollowerDeps,
): Promise<JournalFollower> {
  const o = resolveOptions(options);
  const log = deps.logger.child({ service: "host-journal" });
  if (o.journalDirectory !== undefined) checkJournalDirectory(o.journalDirectory);
  await checkJournalctl(o.journalctl);
  makeDirs(o.outputDir, "host journal outputDir", 0o750);

  const stats: JournalFollowerStats = {
    starts: 0,
    exits: 0,
    lines: 0,
    rotations: 0,
    writeErrors: 0,
    shrunk: 0,
    uncut: 0,
    dropped: 0,
  };
  let stopping = false;
  let child: ChildProcess | undefined;
  const stopSleep = new AbortController();
  /** With no output yet and startAt "end": a restart goes on from the first start, not from its own "now". */
  let firstStartSeconds: number | undefined;

  async function runOnce(): Promise<RunEnd> {
    let out: JournalOutputFile;
    let cursor: string | undefined;
    try {
      out = await JournalOutputFile.open(o.outputDir, o.maxFileBytes, o.keepFiles);
      cursor = await lastWrittenCursor(o.outputDir, o.keepFiles);
    } catch (e) {
      stats.writeErrors += 1;
      return { code: null, signal: null, stderr: "", lines: 0, writeError: e };
    }
    const since = cursor === undefined && o.startAt === "end" ? firstStartSeconds : undefined;
    firstStartSeconds ??= Math.floor(Date.now() / 1000);
    const proc = spawn(o.journalctl, journalctlArgs(o, cursor, since), {
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = proc;
    if (stopping) proc.kill("SIGTERM"); // stop() came while the file was being opened
    stats.starts += 1;
    log.debug({ cursor, pid: proc.pid }, "journalctl started");
    let spawnError: unknown;
    const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      proc.once("error", (e) => {
        spawnError = e;
        resolve({ code: null, signal: null });
      });
      proc.once("close", (code, signal) => resolve({ code, signal }));
    });
    const stderr = new JournalctlStderr(log);
    proc.stderr?.setEncoding("utf8");
    proc.stderr?.on("data", (text: string) => stderr.add(text));
    const lines = new EntryLines(
      o.maxLineBytes,
      o.maxEntryBytes,
      (bytes) =>
        log.warn(
          { bytes, maxEntryBytes: o.maxEntryBytes },
          "host journal: entry longer than maxEntryBytes dropped",
        ),
      stats,
    );
    let written = 0;
    let writeError: unknown;
    try {
      // One chunk at a time: the next is not read until this one's lines are written.
      for await (const chunk of proc.stdout as AsyncIterable<Buffer>) {
        stderr.flush(); // it runs: what it said is a warning, not why it ended
        const complete = lines.take(chunk);
        if (complete.length === 0) continue;
        stats.rotations += await out.append(complete);
        written += complete.length;
        stats.lines += complete.length;
      }
    } catch (e) {
      writeError = e;
      stats.writeErrors += 1;
      proc.kill("SIGTERM");
    } finally {
      await out.close().catch(() => undefined);
    }
    const end = await closed;
    child = undefined;
    return { ...end, stderr: stderr.end(), lines: written, writeError, spawnError };
  }

  async function follow(): Promise<void> {
    let delay = o.minRestartDelayMs;
    while (!stopping) {
      const end = await runOnce();
      if (stopping) break;
      stats.exits += 1;
      // Entries flowed: whatever ended it is new, so the back-off starts over.
      if (end.lines > 0) delay = o.minRestartDelayMs;
      const fields = {
        code: end.code,
        signal: end.signal,
        stderr: end.stderr || undefined,
        err: end.writeError ?? end.spawnError,
        restartInMs: delay,
      };
      const what =
        end.writeError !== undefined
          ? `host journal: cannot write ${journalFilePath(o.outputDir)} (${reason(end.writeError)})`
          : end.spawnError !== undefined
            ? `host journal: cannot start ${o.journalctl} (${reason(end.spawnError)})`
            : `host journal: journalctl ended (${end.signal ?? `exit code ${end.code}`})${end.stderr ? `: ${lastLine(end.stderr)}` : ""}`;
      log.error(fields, `${what}; starting it again`);
      try {
        await sleep(delay, undefined, { signal: stopSleep.signal });
      } catch {
        break; // stop() during the back-off
      }
      delay = Math.min(delay * 2, o.maxRestartDelayMs);
    }
  }

  const running = follow().catch((e: unknown) => {
    // Not expected (every failure above is caught and retried); logged rather than left unhandled.
    log.error({ err: e }, "host journal: follower failed");
  });

  return {
    name: "host-journal",
    stats,
    async stop(): Promise<void> {
      stopping = true;
      stopSleep.abort();
      child?.kill("SIGTERM");
      await running;
    },
  };
}

function reason(e: unknown): string {
  return errnoCode(e) ?? (e instanceof Error ? e.message : String(e));
}

function lastLine(text: string): string {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  return lines[lines.length - 1] ?? "";
}
