import { containerIdentityFromPath } from "../../cgroup/container-id.js";
import type { ContainerLabeler } from "../../common/container-labels.js";
import type { Collector, Labels } from "../collector.js";
import { CONTAINER_LABEL_NAMES, type ContainerSource } from "../containers.js";
import type { KmsgSource } from "../sources/kmsg.js";
import { parseOomKill } from "../sources/kmsg-parse.js";

/** Kernel-log OOM series are kept this long after a container's last kill, then dropped (bounded churn). */
const KMSG_SERIES_TTL_MS = 60 * 60 * 1000;

/**
 * Names the container of an OOM-killed task from its cgroup path. Container paths give the
 * 64-hex id; any other cgroup (a systemd service, a test cgroup) is labelled by its last path
 * component, the host root by "/". Pure.
 */
export function oomContainerId(taskMemcg: string): string {
  const identity = containerIdentityFromPath(taskMemcg);
  if (identity) return identity.id;
  const parts = taskMemcg.split("/").filter((p) => p !== "");
  return parts[parts.length - 1] ?? "/";
}

/**
 * Container OOM kills from two sources: the cgroup's own counter (memory.events oom_kill on v2,
 * memory.oom_control oom_kill on v1; lost when the container is recreated) and the kernel log
 * (`oom-kill:...task_memcg=<path>` on /dev/kmsg, labelled the moment it is read, so a kill still
 * counts when the container is recreated right after — cAdvisor's counter stays at 0 there).
 */
export function containerOomCollector(
  source: ContainerSource,
  labeler: ContainerLabeler,
  kmsg: KmsgSource | undefined,
): Collector {
  const fromKmsg = new Map<string, { labels: Labels; count: number; lastAt: number }>();
  let unsubscribe: (() => void) | undefined;
  return {
    name: "container_oom",
    metrics: [
      {
        name: "boxscope_container_oom_kills_total",
        help: 'Processes killed by the OOM killer in the container; source="cgroup" (memory.events / memory.oom_control) or "kmsg" (kernel log, survives container recreation).',
        type: "counter",
        labelNames: [...CONTAINER_LABEL_NAMES, "source"],
      },
    ],
    async start() {
      unsubscribe = kmsg?.subscribe((record) => {
        const kill = parseOomKill(record.message);
        if (!kill) return;
        const id = oomContainerId(kill.taskMemcg);
        const labels = labeler.labelsFor(containerIdentityFromPath(kill.taskMemcg), id);
        const prev = fromKmsg.get(id);
        fromKmsg.set(id, {
          labels: { ...labels, source: "kmsg" },
          count: (prev?.count ?? 0) + 1,
          lastAt: Date.now(),
        });
      });
    },
    async stop() {
      unsubscribe?.();
    },
    collect(sink) {
      for (const c of source.containers()) {
        const kills = source.memory(c)?.oomKills;
        if (kills !== undefined)
          sink.add("boxscope_container_oom_kills_total", kills, { ...c.labels, source: "cgroup" });
      }
      const now = Date.now();
      for (const [id, s] of fromKmsg) {
        if (now - s.lastAt > KMSG_SERIES_TTL_MS) fromKmsg.delete(id);
        else sink.add("boxscope_container_oom_kills_total", s.count, s.labels);
      }
    },
  };
}
