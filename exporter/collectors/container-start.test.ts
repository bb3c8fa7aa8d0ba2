import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { handleForPath } from "../../cgroup/handle.js";
import { PATH_B, V1_PROC, v1Mounts } from "../../test/cgroup/fixtures.js";
import type { ContainerSource, LiveContainer } from "../containers.js";
import { containerStartCollector, START_RECHECK_MS } from "./container-start.js";

const BTIME = 1_700_000_000;

test("start time: the container's init start (ticks) after boot, cached, re-checked, forgotten when gone", (t) => {
  // The fixture's /proc plus a /proc/stat with a boot time (the collector's second input).
  const proc = mkdtempSync(join(tmpdir(), "boxscope-start-"));
  t.after(() => rmSync(proc, { recursive: true, force: true }));
  cpSync(V1_PROC, proc, { recursive: true, verbatimSymlinks: true });
  writeFileSync(join(proc, "stat"), `cpu  1 2 3 4\nbtime ${BTIME}\nprocesses 5\n`);

  const container: LiveContainer = {
    path: PATH_B,
    handle: handleForPath(v1Mounts(), PATH_B),
    identity: { id: "b", runtime: "docker" },
    labels: { container_id: "b", container_name: "n", team: "" },
  } as unknown as LiveContainer;
  let list = [container];
  const source = { containers: () => list } as unknown as ContainerSource;
  let now = 0;
  const collector = containerStartCollector(source, proc, () => now);
  let scrape = 0;
  const collect = (): number[] => {
    const values: number[] = [];
    collector.collect(
      {
        add: (name, v) => {
          assert.equal(name, "boxscope_container_start_time_seconds");
          values.push(v);
        },
      },
      { scrapeId: ++scrape, samples: () => [], collectorUp: new Map() },
    );
    return values;
  };

  // Container B's only process, pid 3000, started 7000 ticks (70 s at USER_HZ 100) after boot.
  assert.deepEqual(collect(), [BTIME + 70]);
  // A restart under the same cgroup path: the init's start changes; seen at the next re-check only.
  const statPath = join(proc, "3000", "stat");
  writeFileSync(statPath, readFileSync(statPath, "utf8").replace(" 7000 ", " 9000 "));
  now = START_RECHECK_MS - 1;
  assert.deepEqual(collect(), [BTIME + 70], "cached between re-checks");
  now = START_RECHECK_MS;
  assert.deepEqual(collect(), [BTIME + 90]);
  // Gone from the list: no series, and nothing kept for it.
  list = [];
  assert.deepEqual(collect(), []);
});
