import { statfs } from "node:fs/promises";
import { errnoCode } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import type { Collector } from "../collector.js";

/**
 * Fill level of the filesystem holding the container log root (vivo put /app/log on its own
 * partition so logs cannot fill the system disk). A missing log root → metrics absent, one log line.
 */
export function logPartitionCollector(logRoot: string, logger: Logger): Collector {
  let loggedAbsent = false;
  const labels = { path: logRoot };
  return {
    name: "log_partition",
    metrics: [
      {
        name: "boxscope_log_partition_size_bytes",
        help: "Size of the log root's filesystem.",
        type: "gauge",
        labelNames: ["path"],
      },
      {
        name: "boxscope_log_partition_avail_bytes",
        help: "Bytes available to unprivileged users on the log root's filesystem.",
        type: "gauge",
        labelNames: ["path"],
      },
      {
        name: "boxscope_log_partition_inodes",
        help: "Inodes of the log root's filesystem.",
        type: "gauge",
        labelNames: ["path"],
      },
      {
        name: "boxscope_log_partition_inodes_free",
        help: "Free inodes of the log root's filesystem.",
        type: "gauge",
        labelNames: ["path"],
      },
    ],
    async collect(sink) {
      let s: Awaited<ReturnType<typeof statfs>>;
      try {
        s = await statfs(logRoot);
      } catch (e) {
        if (errnoCode(e) !== "ENOENT") throw e;
        if (!loggedAbsent) logger.warn({ logRoot }, "log root does not exist: log partition metrics absent");
        loggedAbsent = true;
        return;
      }
      loggedAbsent = false;
      sink.add("boxscope_log_partition_size_bytes", s.blocks * s.bsize, labels);
      sink.add("boxscope_log_partition_avail_bytes", s.bavail * s.bsize, labels);
      sink.add("boxscope_log_partition_inodes", s.files, labels);
      sink.add("boxscope_log_partition_inodes_free", s.ffree, labels);
    },
  };
}
