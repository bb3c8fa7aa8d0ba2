import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { pino } from "pino";
import type { Labels, SampleSink } from "../collector.js";
import { conntrackCollector } from "./conntrack.js";

function sink(): SampleSink & { got: Map<string, number> } {
  const got = new Map<string, number>();
  return { got, add: (name: string, v: number, _l?: Labels) => got.set(name, v) };
}
const view = { samples: () => [], collectorUp: new Map(), scrapeId: 1 };

test("conntrack: values from the proc files; module absent → no series, one log line, no error", async (t) => {
  const root = mkdtempSync(join(tmpdir(), "boxscope-exporter-conntrack-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const lines: string[] = [];
  const logger = pino({ level: "info" }, { write: (s: string) => lines.push(s) });
  const c = conntrackCollector(logger, root);

  const absent = sink();
  await c.collect(absent, view);
  await c.collect(absent, view);
  assert.equal(absent.got.size, 0);
  assert.equal(lines.filter((l) => l.includes("nf_conntrack not loaded")).length, 1, "logged once");

  mkdirSync(join(root, "sys/net/netfilter"), { recursive: true });
  mkdirSync(join(root, "net/stat"), { recursive: true });
  writeFileSync(join(root, "sys/net/netfilter/nf_conntrack_count"), "42\n");
  writeFileSync(join(root, "sys/net/netfilter/nf_conntrack_max"), "65536\n");
  writeFileSync(
    join(root, "net/stat/nf_conntrack"),
    "entries  insert_failed drop early_drop search_restart\n0000002a  00000001 00000002 00000000 00000004\n0000002a  00000001 00000003 00000001 00000000\n",
  );
  const present = sink();
  await c.collect(present, view);
  assert.deepEqual(Object.fromEntries(present.got), {
    boxscope_conntrack_entries: 42,
    boxscope_conntrack_entries_limit: 65536,
    boxscope_conntrack_insert_failed_total: 2,
    boxscope_conntrack_drop_total: 5,
    boxscope_conntrack_early_drop_total: 1,
    boxscope_conntrack_search_restart_total: 4,
  });
});
