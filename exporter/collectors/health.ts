import type { CollectedView, Collector, Labels } from "../collector.js";

/** Status codes of boxscope_host_health_status, for Grafana value mappings (docs/metrics.md). */
export const HEALTH_CODES = {
  ok: 0,
  monitoring: 1,
  network: 2,
  pids: 3,
  memory: 4,
  key_process: 5,
  log_partition: 6,
} as const;
export type HealthCheck = Exclude<keyof typeof HEALTH_CODES, "ok">;

const RATIO = 0.9;
const WINDOW_MS = 5 * 60 * 1000;

/** Which checks fail, from one scrape's samples plus the "recent event" flags. Pure. */
export function failingChecks(
  view: CollectedView,
  recent: { drops: boolean; oom: boolean },
): Set<HealthCheck> {
  const one = (name: string): number | undefined => view.samples(name)[0]?.value;
  const failing = new Set<HealthCheck>();
  for (const [name, up] of view.collectorUp) if (!up && name !== "health") failing.add("monitoring");

  const entries = one("boxscope_conntrack_entries");
  const limit = one("boxscope_conntrack_entries_limit");
  if ((entries !== undefined && limit && entries >= RATIO * limit) || recent.drops) failing.add("network");

  const threads = one("boxscope_host_threads");
  const pidMax = one("boxscope_host_pid_max");
  const threadsMax = one("boxscope_host_threads_max");
  if (
    threads !== undefined &&
    ((pidMax && threads >= RATIO * pidMax) || (threadsMax && threads >= RATIO * threadsMax))
  ) {
    failing.add("pids");
  }
  if (recent.oom) failing.add("memory");
  if (
    view.samples("boxscope_process_up").some((s) => s.value === 0) ||
    view.samples("boxscope_process_healthy").some((s) => s.value === 0)
  ) {
    failing.add("key_process"); // down, or running but not answering its health probe (hung)
  }

  const size = one("boxscope_log_partition_size_bytes");
  const avail = one("boxscope_log_partition_avail_bytes");
  const inodes = one("boxscope_log_partition_inodes");
  const inodesFree = one("boxscope_log_partition_inodes_free");
  if (
    (size && avail !== undefined && size - avail >= RATIO * size) ||
    (inodes && inodesFree !== undefined && inodes - inodesFree >= RATIO * inodes)
  ) {
    failing.add("log_partition");
  }
  return failing;
}

export function healthCode(failing: ReadonlySet<HealthCheck>): number {
  let code: number = HEALTH_CODES.ok;
  for (const c of failing) if (code === 0 || HEALTH_CODES[c] < code) code = HEALTH_CODES[c];
  return code;
}

const key = (l: Labels): string => JSON.stringify(l);

/** Remembers counter values between scrapes and when one last increased. */
class IncreaseTracker {
  private prev = new Map<string, number>();
  private primed = false;
  lastIncreaseAt = Number.NEGATIVE_INFINITY;

  observe(samples: ReadonlyArray<{ labels: Labels; value: number }>, now: number): void {
    const next = new Map<string, number>();
    for (const s of samples) {
      const k = key(s.labels);
      next.set(k, s.value);
      const before = this.prev.get(k);
      // A series first seen after the first scrape with a non-zero value is a new event too.
      if (this.primed && (before === undefined ? s.value > 0 : s.value > before)) this.lastIncreaseAt = now;
    }
    this.prev = next;
    this.primed = true;
  }

  recent(now: number): boolean {
    return now - this.lastIncreaseAt <= WINDOW_MS;
  }
}

/**
 * The host health code (vivo's status codes for Grafana value mappings): 0 ok, else the lowest
 * code among failing checks, plus one 0/1 series per check so a dashboard can list all of them.
 */
export function healthCollector(): Collector {
  const oom = new IncreaseTracker();
  const drops = new IncreaseTracker();
  return {
    name: "health",
    derived: true,
    metrics: [
      {
        name: "boxscope_host_health_status",
        help: "0 ok, 1 monitoring problem, 2 network (conntrack), 3 PID exhaustion, 4 container OOM in the last 5 min, 5 key process down or hung, 6 log partition full; lowest failing code wins.",
        type: "gauge",
      },
      {
        name: "boxscope_host_health_check_failing",
        help: "1 when the named health check fails (the status code is the lowest failing one).",
        type: "gauge",
        labelNames: ["check", "code"],
      },
    ],
    collect(sink, view) {
      const now = Date.now();
      oom.observe(view.samples("boxscope_container_oom_kills_total"), now);
      drops.observe(
        [
          "boxscope_conntrack_drop_total",
          "boxscope_conntrack_insert_failed_total",
          "boxscope_conntrack_early_drop_total",
        ].flatMap((n) => view.samples(n).map((s) => ({ labels: { ...s.labels, n }, value: s.value }))),
        now,
      );
      const failing = failingChecks(view, { drops: drops.recent(now), oom: oom.recent(now) });
      sink.add("boxscope_host_health_status", healthCode(failing));
      for (const [check, code] of Object.entries(HEALTH_CODES)) {
        if (check === "ok") continue;
        sink.add("boxscope_host_health_check_failing", failing.has(check as HealthCheck) ? 1 : 0, {
          check,
          code: String(code),
        });
      }
    },
  };
}
