import assert from "node:assert/strict";
import { test } from "node:test";
import type { CollectedView, Labels } from "../collector.js";
import { failingChecks, healthCode } from "./health.js";

function view(
  values: Record<string, number>,
  up: Record<string, boolean> = {},
  extra: Record<string, Array<{ labels: Labels; value: number }>> = {},
): CollectedView {
  return {
    samples: (name) => extra[name] ?? (name in values ? [{ labels: {}, value: values[name] as number }] : []),
    collectorUp: new Map(Object.entries(up)),
    scrapeId: 1,
  };
}

const calm = { drops: false, oom: false };

test("health: each check and the lowest failing code", () => {
  assert.equal(healthCode(failingChecks(view({}), calm)), 0);
  assert.equal(healthCode(failingChecks(view({}, { conntrack: false }), calm)), 1);
  assert.equal(
    healthCode(
      failingChecks(view({ boxscope_conntrack_entries: 90, boxscope_conntrack_entries_limit: 100 }), calm),
    ),
    2,
  );
  assert.equal(
    healthCode(
      failingChecks(view({ boxscope_conntrack_entries: 89, boxscope_conntrack_entries_limit: 100 }), calm),
    ),
    0,
  );
  assert.equal(healthCode(failingChecks(view({}), { drops: true, oom: false })), 2);
  assert.equal(
    healthCode(failingChecks(view({ boxscope_host_threads: 29500, boxscope_host_pid_max: 32768 }), calm)),
    3,
  );
  assert.equal(healthCode(failingChecks(view({}), { drops: false, oom: true })), 4);
  assert.equal(
    healthCode(
      failingChecks(
        view({}, {}, { boxscope_process_up: [{ labels: { process: "dockerd" }, value: 0 }] }),
        calm,
      ),
    ),
    5,
  );
  assert.equal(
    healthCode(
      failingChecks(
        view({ boxscope_log_partition_size_bytes: 100, boxscope_log_partition_avail_bytes: 10 }),
        calm,
      ),
    ),
    6,
  );
  assert.equal(
    healthCode(
      failingChecks(
        view({ boxscope_log_partition_inodes: 100, boxscope_log_partition_inodes_free: 5 }),
        calm,
      ),
    ),
    6,
  );
  // Several failing: the lowest code wins.
  const many = failingChecks(
    view({
      boxscope_log_partition_size_bytes: 100,
      boxscope_log_partition_avail_bytes: 0,
      boxscope_host_threads: 32000,
      boxscope_host_pid_max: 32768,
    }),
    { drops: false, oom: true },
  );
  assert.deepEqual([...many].sort(), ["log_partition", "memory", "pids"]);
  assert.equal(healthCode(many), 3);
});
