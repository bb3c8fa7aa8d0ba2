import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { silentLogger } from "../../common/logger.js";
import type { Labels, SampleSink } from "../collector.js";
import type { KeyProcessRule } from "../key-process-rules.js";
import type { HealthProbe, ProbeResult } from "../sources/health-probe.js";
import { keyProcessesCollector } from "./key-processes.js";

/** A /proc fixture: btime, and per pid comm, cmdline and a stat line with start ticks (field 22). */
function procFixture(t: { after(fn: () => void): void }) {
  const root = mkdtempSync(join(tmpdir(), "boxscope-keyproc-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(join(root, "stat"), "cpu  1 2 3\nbtime 1700000000\n");
  return {
    root,
    start(pid: number, comm: string, startTicks: number, cmdline = comm): void {
      mkdirSync(join(root, String(pid)), { recursive: true });
      writeFileSync(join(root, String(pid), "comm"), `${comm}\n`);
      writeFileSync(join(root, String(pid), "cmdline"), `${cmdline.replaceAll(" ", "\0")}\0`);
      const rest = Array.from({ length: 19 }, (_, i) => (i === 18 ? String(startTicks) : "0")).join(" ");
      writeFileSync(join(root, String(pid), "stat"), `${pid} (${comm}) S ${rest} 0 0\n`);
    },
    stop(pid: number): void {
      rmSync(join(root, String(pid)), { recursive: true, force: true });
    },
  };
}

function collectOnce(c: ReturnType<typeof keyProcessesCollector>): Map<string, number> {
  const out = new Map<string, number>();
  const sink: SampleSink = {
    add(name: string, value: number, labels: Labels = {}) {
      const l = Object.entries(labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(",");
      out.set(`${name}{${l}}`, value);
    },
  };
  void c.collect(sink, { samples: () => [], scrapeId: 0, collectorUp: new Map() });
  return out;
}

/** A probe runner the test answers by hand: each call waits until the test resolves it. */
function manualProbes() {
  const calls: { probe: HealthProbe; answer: (r: ProbeResult) => void }[] = [];
  return {
    calls,
    run: (probe: HealthProbe) => new Promise<ProbeResult>((answer) => calls.push({ probe, answer })),
  };
}
const settle = () => new Promise((r) => setImmediate(r));

const probe: HealthProbe = {
  kind: "http",
  url: "http://docker/_ping",
  socket: "/nonexistent/docker.sock",
  timeoutSeconds: 5,
  intervalSeconds: 3600,
};

test("a rule that is not required appears once its process is seen, then stays (down = 0)", (t) => {
  const proc = procFixture(t);
  const rules: KeyProcessRule[] = [
    { name: "dockerd", pattern: "^dockerd$", match: "comm", required: false },
    { name: "flume", pattern: "flume", match: "comm", required: true },
  ];
  const c = keyProcessesCollector(rules, silentLogger(), proc.root, manualProbes().run);
  let s = collectOnce(c);
  assert.equal(s.get("boxscope_process_up{process=dockerd}"), undefined, "absent from a host without it");
  assert.equal(s.get("boxscope_process_up{process=flume}"), 0, "a required rule is down from the start");
  proc.start(100, "dockerd", 500);
  s = collectOnce(c);
  assert.equal(s.get("boxscope_process_up{process=dockerd}"), 1);
  assert.equal(s.get("boxscope_process_start_time_seconds{process=dockerd}"), 1700000000 + 5);
  proc.stop(100);
  s = collectOnce(c);
  assert.equal(s.get("boxscope_process_up{process=dockerd}"), 0, "once seen, its absence is down");
});

test("a rule that is not required is present while its probe socket exists", (t) => {
  const proc = procFixture(t);
  const socket = join(proc.root, "docker.sock");
  writeFileSync(socket, "");
  const c = keyProcessesCollector(
    [{ name: "dockerd", pattern: "^dockerd$", match: "comm", required: false, probe: { ...probe, socket } }],
    silentLogger(),
    proc.root,
    manualProbes().run,
  );
  const s = collectOnce(c);
  assert.equal(s.get("boxscope_process_up{process=dockerd}"), 0, "a crashed daemon leaves its socket behind");
  assert.equal(s.get("boxscope_process_healthy{process=dockerd}"), undefined, "down is not hung");
});

test("cmdline rules read cmdline only for processes their comm filter lets through", (t) => {
  const proc = procFixture(t);
  proc.start(10, "node", 1, "/usr/bin/node /opt/boxscope/bin/boxscope.js --config /etc/b.yaml ship");
  proc.start(11, "python3", 1, "python3 boxscope.js ship");
  proc.start(12, "node", 1, "node /opt/boxscope/bin/boxscope.js up");
  const c = keyProcessesCollector(
    [
      {
        name: "boxscope-ship",
        pattern: "(^|/)boxscope(\\.js)? (.* )?ship( |$)",
        match: "cmdline",
        comm: "^node$",
        required: true,
      },
    ],
    silentLogger(),
    proc.root,
  );
  assert.equal(collectOnce(c).get("boxscope_process_instances{process=boxscope-ship}"), 1);
});

test("probes: started by a scrape, published by the next, one in flight, failures by reason", async (t) => {
  const proc = procFixture(t);
  proc.start(100, "dockerd", 500);
  const probes = manualProbes();
  const c = keyProcessesCollector(
    [{ name: "dockerd", pattern: "^dockerd$", match: "comm", required: false, probe }],
    silentLogger(),
    proc.root,
    probes.run,
  );
  let s = collectOnce(c);
  assert.equal(probes.calls.length, 1, "the first sighting probes at once");
  assert.deepEqual(probes.calls[0]?.probe, probe);
  assert.equal(s.get("boxscope_process_healthy{process=dockerd}"), undefined, "no result yet");
  s = collectOnce(c);
  assert.equal(probes.calls.length, 1, "never a second probe while one is in flight");
  probes.calls[0]?.answer({ healthy: true, seconds: 0.002 });
  await settle();
  s = collectOnce(c);
  assert.equal(s.get("boxscope_process_healthy{process=dockerd}"), 1);
  assert.equal(s.get("boxscope_process_probe_duration_seconds{process=dockerd}"), 0.002);
  assert.equal(probes.calls.length, 1, "not again before intervalSeconds");

  // A restart (new start time) forgets the old instance's result and probes the new one at once.
  proc.stop(100);
  proc.start(101, "dockerd", 900);
  s = collectOnce(c);
  assert.equal(s.get("boxscope_process_restarts_total{process=dockerd}"), 1);
  assert.equal(s.get("boxscope_process_healthy{process=dockerd}"), undefined);
  assert.equal(probes.calls.length, 2);
  probes.calls[1]?.answer({ healthy: false, seconds: 5, reason: "timeout", detail: "no answer in 5 s" });
  await settle();
  s = collectOnce(c);
  assert.equal(s.get("boxscope_process_up{process=dockerd}"), 1);
  assert.equal(s.get("boxscope_process_healthy{process=dockerd}"), 0, "runs but does not answer: hung");
  assert.equal(s.get("boxscope_process_probe_failures_total{process=dockerd,reason=timeout}"), 1);

  // A socket the exporter cannot see is no verdict (a container without the socket mounted).
  proc.stop(101);
  proc.start(102, "dockerd", 1000);
  collectOnce(c);
  probes.calls[2]?.answer({ healthy: false, seconds: 0, reason: "no_socket", detail: "ENOENT" });
  await settle();
  s = collectOnce(c);
  assert.equal(s.get("boxscope_process_healthy{process=dockerd}"), undefined);
  assert.equal(s.get("boxscope_process_probe_failures_total{process=dockerd,reason=no_socket}"), 1);
  proc.stop(102);
  proc.start(101, "dockerd", 1100);
  collectOnce(c);
  probes.calls[3]?.answer({ healthy: false, seconds: 5, reason: "timeout", detail: "no answer in 5 s" });
  await settle();

  // Down: no healthy series (the Down alert speaks), the failure count stays.
  proc.stop(101);
  s = collectOnce(c);
  assert.equal(s.get("boxscope_process_up{process=dockerd}"), 0);
  assert.equal(s.get("boxscope_process_healthy{process=dockerd}"), undefined);
  assert.equal(s.get("boxscope_process_probe_failures_total{process=dockerd,reason=timeout}"), 2);
  assert.equal(probes.calls.length, 4, "a process that is down is not probed");
});
