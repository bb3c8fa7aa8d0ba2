import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

/**
 * Real journal files for the host-journal tests, written by systemd's own `systemd-journal-remote`
 * (Debian package systemd-journal-remote) from the journal export format on its stdin: the files
 * journalctl then reads are the files journald would write, without running a journald (the
 * host's is not ours to start, and the test machine may have none).
 */
export const JOURNAL_REMOTE = "/usr/lib/systemd/systemd-journal-remote";

export function journalPrereq(): { present: boolean; why: string } {
  const remote = existsSync(JOURNAL_REMOTE);
  const journalctl = spawnSync("journalctl", ["--version"]).status === 0;
  return {
    present: remote && journalctl,
    why: `the host-journal tests need ${JOURNAL_REMOTE} (package systemd-journal-remote: ${remote ? "ok" : "missing"}) and journalctl (package systemd: ${journalctl ? "ok" : "missing"})`,
  };
}

/** One entry: its fields (a Buffer for any bytes) and its wall-clock time in microseconds. */
export interface TestEntry {
  fields: Record<string, string | Buffer>;
  realtimeUs: bigint;
}

/** A boot id for every test entry: journal-remote files entries by boot. */
const BOOT_ID = "0123456789abcdef0123456789abcdef";

/** Printable UTF-8 without a newline can be written as `NAME=value`; anything else in the binary form. */
function isPlain(value: Buffer): boolean {
  const text = value.toString("utf8");
  return Buffer.from(text).equals(value) && !value.some((b) => b < 0x20 || b === 0x7f);
}

/** The entries in the journal export format (systemd's JOURNAL_EXPORT_FORMATS). */
export function exportFormat(entries: TestEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    parts.push(Buffer.from(`__REALTIME_TIMESTAMP=${entry.realtimeUs}\n_BOOT_ID=${BOOT_ID}\n`));
    for (const [name, value] of Object.entries(entry.fields)) {
      const bytes = typeof value === "string" ? Buffer.from(value) : value;
      if (isPlain(bytes)) {
        parts.push(Buffer.from(`${name}=`), bytes, Buffer.from("\n"));
      } else {
        // NAME "\n" little-endian 64-bit length, the bytes, "\n".
        const length = Buffer.alloc(8);
        length.writeBigUInt64LE(BigInt(bytes.length));
        parts.push(Buffer.from(`${name}\n`), length, bytes, Buffer.from("\n"));
      }
    }
    parts.push(Buffer.from("\n"));
  }
  return Buffer.concat(parts);
}

/** Appends `entries` to `<dir>/system.journal` (created when missing) as journald would have. */
export async function appendToJournal(dir: string, entries: TestEntry[]): Promise<void> {
  const child = spawn(JOURNAL_REMOTE, [`--output=${join(dir, "system.journal")}`, "-"], {
    stdio: ["pipe", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (s: string) => {
    stderr += s;
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve(code));
  });
  child.stdin.end(exportFormat(entries));
  const code = await exited;
  if (code !== 0) throw new Error(`systemd-journal-remote exited with ${code}: ${stderr.trim()}`);
}

/** Entries whose MESSAGE is each of `messages`, a microsecond apart from `startUs` (now), with the usual fields. */
export function messages(texts: (string | Buffer)[], startUs = BigInt(Date.now()) * 1000n): TestEntry[] {
  return texts.map((text, i) => ({
    realtimeUs: startUs + BigInt(i),
    fields: {
      MESSAGE: text,
      PRIORITY: "5",
      SYSLOG_IDENTIFIER: "boxscope-test",
      _SYSTEMD_UNIT: "boxscope-test.service",
      _PID: "4242",
      _TRANSPORT: "journal",
      _HOSTNAME: "testhost",
    },
  }));
}
