import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

/**
 * A stand-in for systemd's end of the notification protocol: a unix datagram socket (python3,
 * since Node has no AF_UNIX datagram sockets) that prints every message it receives as a JSON
 * line. Like the manager it closes the file descriptors a BARRIER=1 message carries, which is
 * what systemd-notify waits for; with `holdBarrierFds` it keeps them open, as a manager that
 * never processes the message would.
 */
const LISTENER = `
import json, os, socket, sys
path, hold = sys.argv[1], sys.argv[2] == "hold"
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
print(json.dumps({"listening": path}), flush=True)
held = []
while True:
    msg, fds, _flags, _addr = socket.recv_fds(s, 65536, 16)
    if hold:
        held.extend(fds)
    else:
        for fd in fds:
            os.close(fd)
    print(json.dumps({"message": msg.decode("utf-8", "replace"), "fds": len(fds)}), flush=True)
`;

export interface NotifyMessage {
  /** The datagram's text: newline-separated assignments such as READY=1. */
  message: string;
  /** How many file descriptors came with it (one for BARRIER=1). */
  fds: number;
}

export interface NotifyListener {
  readonly path: string;
  readonly messages: NotifyMessage[];
  /** Assignments received so far (READY=1, STATUS=...), BARRIER=1 left out. */
  assignments(): string[];
  /** Resolves once a received message makes `done` true (checked on each message). */
  until(done: (messages: NotifyMessage[]) => boolean): Promise<void>;
  close(): void;
}

export async function listenNotifySocket(
  path: string,
  opts: { holdBarrierFds?: boolean } = {},
): Promise<NotifyListener> {
  const child: ChildProcess = spawn(
    "python3",
    ["-c", LISTENER, path, opts.holdBarrierFds ? "hold" : "close"],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stderr = "";
  child.stderr?.on("data", (b: Buffer) => {
    stderr += b.toString();
  });
  const messages: NotifyMessage[] = [];
  const waiters = new Set<() => void>();
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  await new Promise<void>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`notify listener exited (${code}): ${stderr.trim()}`)));
    lines.on("line", (line) => {
      const parsed = JSON.parse(line) as { listening?: string } & Partial<NotifyMessage>;
      if (parsed.listening !== undefined) resolve();
      else {
        messages.push({ message: parsed.message ?? "", fds: parsed.fds ?? 0 });
        for (const wake of waiters) wake();
      }
    });
  });
  return {
    path,
    messages,
    assignments: () =>
      messages.flatMap((m) => m.message.split("\n")).filter((a) => a !== "" && a !== "BARRIER=1"),
    until: (done) =>
      new Promise<void>((resolve) => {
        const check = (): void => {
          if (!done(messages)) return;
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
        check();
      }),
    close: () => {
      child.removeAllListeners("exit");
      child.kill("SIGKILL");
    },
  };
}
