import type { Collector } from "../collector.js";
import { CONTAINER_LABEL_NAMES, type ContainerSource } from "../containers.js";
import type { NetDevCounters } from "../sources/netns.js";

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

/**
 * Per-container interface counters from the container's network namespace: one of its processes'
 * /proc/<pid>/net/dev, read once per distinct namespace per read pass (ContainerSource,
 * NetnsScrape). Containers that share a namespace (a pod) each carry the same counters under the
 * same `netns` label; containers in the host's namespace have none.
 */
export function containerNetworkCollector(source: ContainerSource): Collector {
  return {
    name: "container_network",
    metrics: FAMILIES.map(([name, , what]) => ({
      name,
      help: `${what} on the interface (/proc/<pid>/net/dev of the container's network namespace; loopback excluded). Containers sharing a namespace (a pod) report the same counters with the same netns label.`,
      type: "counter" as const,
      labelNames: LABELS,
    })),
    collect(sink) {
      for (const c of source.containers()) {
        const ns = source.network(c);
        if (ns === undefined) continue;
        for (const [device, counters] of ns.devices) {
          const labels = { ...c.labels, device, netns: ns.inode };
          for (const [name, field] of FAMILIES) sink.add(name, counters[field], labels);
        }
      }
    },
  };
}
