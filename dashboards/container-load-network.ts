import type * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import { row, timeseries } from "./common.js";

/**
 * The container dashboard's "Load and network" row: the container's own load average (what its
 * /proc/loadavg shows through the shim) against its CPU limit, and its interfaces' traffic and
 * drops. `c` is the dashboard's selector of the chosen container. A pod's containers share one
 * network namespace: each shows the pod's traffic (the netns label says which namespace).
 */
export function withLoadAndNetwork(d: dashboard.DashboardBuilder, c: string): dashboard.DashboardBuilder {
  return d
    .withRow(row("Load and network"))
    .withPanel(
      timeseries({
        title: "Load average vs CPU limit",
        description:
          "The container's 1/5/15-minute load (its running and uninterruptible threads, as its /proc/loadavg shows it) and its CPU limit. Alert: load5 above 2x the limit for 15 minutes.",
        min: 0,
        queries: [
          [`boxscope_container_load1{${c}}`, "load1"],
          [`boxscope_container_load5{${c}}`, "load5"],
          [`boxscope_container_load15{${c}}`, "load15"],
          [`boxscope_container_cpu_limit_cpus{${c}}`, "limit CPUs"],
        ],
      }),
    )
    .withPanel(
      timeseries({
        title: "Network traffic",
        description:
          "Bytes per second received and sent on each interface of the container's network namespace (loopback excluded; shared by a pod's containers).",
        unit: "Bps",
        min: 0,
        queries: [
          [`rate(boxscope_container_network_receive_bytes_total{${c}}[$__rate_interval])`, "{{device}} in"],
          [`rate(boxscope_container_network_transmit_bytes_total{${c}}[$__rate_interval])`, "{{device}} out"],
        ],
      }),
    )
    .withPanel(
      timeseries({
        title: "Packets and drops",
        description:
          "Packets per second on each interface, and packets dropped. Alert: more than 1 drop/s (in + out) for 10 minutes.",
        unit: "pps",
        min: 0,
        queries: [
          [`rate(boxscope_container_network_receive_packets_total{${c}}[$__rate_interval])`, "{{device}} in"],
          [
            `rate(boxscope_container_network_transmit_packets_total{${c}}[$__rate_interval])`,
            "{{device}} out",
          ],
          [
            `rate(boxscope_container_network_receive_drop_total{${c}}[$__rate_interval])`,
            "{{device}} dropped in",
          ],
          [
            `rate(boxscope_container_network_transmit_drop_total{${c}}[$__rate_interval])`,
            "{{device}} dropped out",
          ],
        ],
        w: 24,
      }),
    );
}
