import type { Collector } from "../collector.js";
import { CONTAINER_LABEL_NAMES, type ContainerSource } from "../containers.js";

const LABELS = [...CONTAINER_LABEL_NAMES, "device"] as const;

/**
 * Per-container block I/O by device (`device` = the kernel's major:minor): v2 io.stat; v1 the
 * blkio scheduler's recursive counters, else the throttle layer's (cgroup/io.ts says which).
 */
export function containerIoCollector(source: ContainerSource): Collector {
  const counter = (name: string, help: string) =>
    ({ name, help, type: "counter", labelNames: LABELS }) as const;
  return {
    name: "container_io",
    metrics: [
      counter("boxscope_container_io_read_bytes_total", "Bytes read from the block device by the container."),
      counter(
        "boxscope_container_io_written_bytes_total",
        "Bytes written to the block device by the container.",
      ),
      counter(
        "boxscope_container_io_reads_total",
        "Read operations the container issued to the block device.",
      ),
      counter(
        "boxscope_container_io_writes_total",
        "Write operations the container issued to the block device.",
      ),
    ],
    collect(sink) {
      for (const c of source.containers()) {
        const data = source.io(c);
        if (!data) continue;
        for (const [device, d] of data) {
          const labels = { ...c.labels, device };
          sink.add("boxscope_container_io_read_bytes_total", d.readBytes, labels);
          sink.add("boxscope_container_io_written_bytes_total", d.writeBytes, labels);
          sink.add("boxscope_container_io_reads_total", d.readIos, labels);
          sink.add("boxscope_container_io_writes_total", d.writeIos, labels);
        }
      }
    },
  };
}
