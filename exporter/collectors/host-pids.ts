import { readdirSync, readFileSync } from "node:fs";
import type { Collector } from "../collector.js";
import { parseIntFile, parseLoadavgThreads } from "../proc-parse.js";

/**
 * Host PID/thread use against the global limits (the field report: one container's thread leak hit
 * kernel.pid_max and nobody could fork). Cheap by design: threads come from the kernel's own count
 * (/proc/loadavg), processes from one readdir of /proc (names only, no per-process reads).
 */
export function hostPidsCollector(): Collector {
  return {
    name: "host_pids",
    metrics: [
      {
        name: "boxscope_host_processes",
        help: "Processes on the host (numeric entries of /proc).",
        type: "gauge",
      },
      {
        name: "boxscope_host_threads",
        help: "Tasks (threads) alive on the host, the kernel's count from /proc/loadavg.",
        type: "gauge",
      },
      { name: "boxscope_host_pid_max", help: "kernel.pid_max: the highest PID + 1, global.", type: "gauge" },
      {
        name: "boxscope_host_threads_max",
        help: "kernel.threads-max: the global task limit.",
        type: "gauge",
      },
    ],
    // Synchronous: four small /proc reads; the promise versions cost more (threadpool hops,
    // open/fstat/read/close each) than the reads themselves, and delayed the scrape by event-loop turns.
    collect(sink) {
      const entries = readdirSync("/proc");
      const loadavg = readFileSync("/proc/loadavg", "utf8");
      const pidMax = readFileSync("/proc/sys/kernel/pid_max", "utf8");
      const threadsMax = readFileSync("/proc/sys/kernel/threads-max", "utf8");
      let processes = 0;
      for (const e of entries) {
        const c = e.charCodeAt(0);
        if (c >= 48 && c <= 57) processes++;
      }
      sink.add("boxscope_host_processes", processes);
      sink.add("boxscope_host_threads", parseLoadavgThreads(loadavg));
      sink.add("boxscope_host_pid_max", parseIntFile(pidMax, "kernel.pid_max"));
      sink.add("boxscope_host_threads_max", parseIntFile(threadsMax, "kernel.threads-max"));
    },
  };
}
