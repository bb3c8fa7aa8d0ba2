import { readCgroupPids, readCgroupPidsRecursive } from "../../cgroup/tasks.js";
import type { CgroupHandle } from "../../cgroup/types.js";
import type { Collector } from "../collector.js";
import { CONTAINER_LABEL_NAMES, type ContainerSource } from "../containers.js";
import { type NetDevCounters, NetnsScrape } from "../sources/netns.js";

const LABELS = [...CONTAINER_LABEL_NAMES, "device", "netns"] as const;

/** Family name → the counter it publishes. */
const FAMILIES: ReadonlyArray<readonly [string, keyof NetDevCounters, string]> = [
  ["boxscope_container_network_receive_bytes_total", "receiveBytes", "Bytes received"],
  ["boxscope_container_network_transmit_bytes_total", "transmitBytes", "Bytes sent"],
  ["boxscope_container_network_receive_packets_total", "receivePackets", "Packets received"],
  ["boxscope_container_network_transmit_packets_total", "transmitPackets", "Packets sent"],
  ["boxscope_container_network_receive_drop_total", "receiveDrop", "Received packets dropped"],
  ["boxscope_container_network_transmit_drop_total", "transmitDrop", "Packets dropped on sending"],
];

/** Any one process of the container: its own cgroup's first, else a sub-cgroup's (systemd inside). */
function onePid(handle: CgroupHandle): number | undefined {
  return readCgroupPids(handle)[0] ?? readCgroupPidsRecursive(handle)[0];
}

/**
 * Per-container interface counters from the container's network namespace: one process's
 * /proc/<pid>/net/dev, read once per distinct namespace per scrape (NetnsScrape). Containers that
 * share a namespace (a pod) each carry the same counters under the same `netns` label; containers
 * in the host's namespace have none. `procRoot` is injectable for tests.
 */
export function containerNetworkCollector(source: ContainerSource, procRoot = "/proc"): Collector {
  return {
    name: "container_network",
    metrics: FAMILIES.map(([name, , what]) => ({
      name,
      help: `${what} on the interface (/proc/<pid>/net/dev of the container's network namespace; loopback excluded). Containers sharing a namespace (a pod) report the same counters with the same netns label.`,
      type: "counter" as const,
      labelNames: LABELS,
    })),
    collect(sink, view) {
      const scrape = new NetnsScrape(procRoot);
      for (const c of source.containers(view.scrapeId)) {
        const pid = onePid(c.handle);
        if (pid === undefined) continue; // no process (yet, or any more): no namespace to read
        const ns = scrape.countersOf(pid);
        if (ns === undefined) continue;
        for (const [device, counters] of ns.devices) {
          const labels = { ...c.labels, device, netns: ns.inode };
          for (const [name, field] of FAMILIES) sink.add(name, counters[field], labels);
        }
      }
    },
  };
}
