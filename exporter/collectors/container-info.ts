import type { Collector } from "../collector.js";
import type { ContainerSource } from "../containers.js";

/** One series per live container carrying its identity labels, for joins (`* on(container_id) group_left`). */
export function containerInfoCollector(source: ContainerSource): Collector {
  return {
    name: "container_info",
    metrics: [
      {
        name: "boxscope_container_info",
        help: "1 per live container cgroup; labels name its id, name, owning team, runtime and pod uid.",
        type: "gauge",
        labelNames: ["container_id", "container_name", "team", "runtime", "pod_uid"],
      },
      { name: "boxscope_containers", help: "Live container cgroups found on the host.", type: "gauge" },
    ],
    collect(sink) {
      const list = source.containers();
      for (const c of list) {
        sink.add("boxscope_container_info", 1, {
          ...c.labels,
          runtime: c.identity.runtime,
          pod_uid: c.identity.podUid ?? "",
        });
      }
      sink.add("boxscope_containers", list.length);
    },
  };
}
