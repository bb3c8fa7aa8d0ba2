import assert from "node:assert/strict";
import { test } from "node:test";
import { Registry } from "prom-client";
import { silentLogger } from "../common/logger.js";
import { startMetricsServer } from "../common/metrics/server.js";
import type { Collector } from "./collector.js";
import { healthCollector } from "./collectors/health.js";
import { CollectorRunner } from "./runner.js";

const working: Collector = {
  name: "working",
  metrics: [{ name: "demo_ok", help: "ok", type: "gauge", labelNames: ["k"] }],
  collect(sink) {
    sink.add("demo_ok", 7, { k: "v" });
  },
};

function flaky(): Collector & { fail: boolean } {
  const c = {
    name: "flaky",
    fail: false,
    metrics: [{ name: "demo_flaky", help: "flaky", type: "gauge" as const }],
    collect(sink: { add(n: string, v: number): void }) {
      if (c.fail) throw new Error("source unreadable");
      sink.add("demo_flaky", 1);
    },
  };
  return c;
}

test("a failing collector reports collector_up 0, its series vanish, the scrape succeeds", async (t) => {
  const registry = new Registry();
  const f = flaky();
  const runner = new CollectorRunner([working, f, healthCollector()], registry, silentLogger());
  const srv = await startMetricsServer({
    registry,
    listen: "127.0.0.1:0",
    logger: silentLogger(),
    beforeScrape: () => runner.collectAll(),
  });
  t.after(() => srv.stop());
  const scrape = async () => {
    const res = await fetch(`http://${srv.address}/metrics`);
    assert.equal(res.status, 200);
    return res.text();
  };
  let body = await scrape();
  assert.match(body, /^demo_flaky 1$/m);
  assert.match(body, /^boxscope_collector_up\{collector="flaky"\} 1$/m);
  assert.match(body, /^boxscope_host_health_status 0$/m);

  f.fail = true;
  body = await scrape();
  assert.doesNotMatch(body, /^demo_flaky /m);
  assert.match(body, /^demo_ok\{k="v"\} 7$/m);
  assert.match(body, /^boxscope_collector_up\{collector="flaky"\} 0$/m);
  assert.match(body, /^boxscope_collector_up\{collector="working"\} 1$/m);
  assert.match(body, /^boxscope_collector_duration_seconds\{collector="flaky"\} [0-9.e-]+$/m);
  assert.match(body, /^boxscope_host_health_status 1$/m, "a collector down = monitoring problem");

  f.fail = false;
  assert.match(await scrape(), /^demo_flaky 1$/m);
});

test("two collectors declaring one metric is a programming error caught at start", () => {
  assert.throws(
    () => new CollectorRunner([working, { ...working, name: "twin" }], new Registry(), silentLogger()),
    /demo_ok declared by both working and twin/,
  );
});
