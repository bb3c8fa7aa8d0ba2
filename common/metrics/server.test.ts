import assert from "node:assert/strict";
import { test } from "node:test";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { silentLogger } from "../logger.js";
import { startMetricsServer } from "./server.js";

test("serves Prometheus text, OpenMetrics by Accept, and /healthz on a free port", async (t) => {
  const registry = new Registry();
  const c = new Counter({
    name: "demo_events_total",
    help: "events",
    labelNames: ["kind"],
    registers: [registry],
  });
  c.inc({ kind: 'a"b' }, 3);
  new Gauge({ name: "demo_level", help: "level", registers: [registry] }).set(1.5);
  new Histogram({ name: "demo_seconds", help: "lat", buckets: [0.1], registers: [registry] }).observe(0.05);
  let refreshes = 0;
  const srv = await startMetricsServer({
    registry,
    listen: "127.0.0.1:0",
    logger: silentLogger(),
    beforeScrape: async () => {
      refreshes++;
    },
  });
  t.after(() => srv.stop());
  assert.match(srv.address, /^127\.0\.0\.1:\d+$/);

  const text = await fetch(`http://${srv.address}/metrics`);
  assert.equal(text.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const body = await text.text();
  assert.match(body, /^# TYPE demo_events_total counter$/m);
  assert.match(body, /^demo_events_total\{kind="a\\"b"\} 3$/m);
  assert.match(body, /^demo_level 1\.5$/m);
  assert.match(body, /^demo_seconds_bucket\{le="\+Inf"\} 1$/m);
  assert.doesNotMatch(body, /# EOF/);

  const om = await fetch(`http://${srv.address}/metrics`, {
    headers: { accept: "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5" },
  });
  assert.match(om.headers.get("content-type") ?? "", /^application\/openmetrics-text; version=1\.0\.0/);
  const omBody = await om.text();
  assert.match(omBody, /^# TYPE demo_events counter$/m);
  assert.match(omBody, /^demo_events_total\{kind="a\\"b"\} 3$/m);
  assert.ok(omBody.endsWith("# EOF\n"));

  // The registry itself is untouched by OpenMetrics rendering: text output keeps `_total`.
  assert.match(
    await (await fetch(`http://${srv.address}/metrics`)).text(),
    /^# TYPE demo_events_total counter$/m,
  );
  assert.equal(refreshes, 3);

  const health = await fetch(`http://${srv.address}/healthz`);
  assert.equal(health.status, 200);
  assert.equal(await health.text(), "ok\n");
});

test("a bad listen address is one clear error", async () => {
  await assert.rejects(
    startMetricsServer({ registry: new Registry(), listen: "localhost", logger: silentLogger() }),
    { name: "UsageError", message: /listen: expected HOST:PORT/ },
  );
});
