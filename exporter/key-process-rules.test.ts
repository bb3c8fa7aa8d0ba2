import assert from "node:assert/strict";
import { test } from "node:test";
import { exporterSchema } from "./config.js";
import { BUILTIN_KEY_PROCESSES, resolveKeyProcesses } from "./key-process-rules.js";

const resolve = (exporter: Record<string, unknown>) => resolveKeyProcesses(exporterSchema.parse(exporter));
const byName = (rules: ReturnType<typeof resolve>, name: string) => rules.find((r) => r.name === name);

test("the embedded defaults watch the runtimes, the kubelet and boxscope's parts, none required", () => {
  const rules = resolve({});
  assert.deepEqual(
    rules.map((r) => r.name),
    [
      "dockerd",
      "containerd",
      "kubelet",
      "crio",
      "boxscope-shim",
      "boxscope-logwatcher",
      "boxscope-ship",
      "boxscope-index",
    ],
  );
  assert.ok(rules.every((r) => !r.required));
  assert.deepEqual(
    rules
      .filter((r) => r.probe)
      .map((r) => [r.name, r.probe?.kind, r.probe?.socket ?? (r.probe?.kind === "http" ? r.probe.url : "")]),
    [
      ["dockerd", "http", "/var/run/docker.sock"],
      ["containerd", "grpc", "/run/containerd/containerd.sock"],
      ["kubelet", "http", "http://127.0.0.1:10248/healthz"],
      ["crio", "http", "/var/run/crio/crio.sock"],
    ],
  );
});

test("a configured rule named like a built-in one changes only the fields it sets", () => {
  const rules = resolve({
    keyProcesses: [
      { name: "dockerd", probe: { socket: "/run/user/1000/docker.sock", timeoutSeconds: 2 } },
      { name: "kubelet", probe: false },
      { name: "containerd", required: true },
      { name: "flume", pattern: "org\\.apache\\.flume", match: "cmdline" },
    ],
  });
  assert.deepEqual(byName(rules, "dockerd")?.probe, {
    kind: "http",
    url: "http://docker/_ping",
    socket: "/run/user/1000/docker.sock",
    timeoutSeconds: 2,
    intervalSeconds: 10,
  });
  assert.equal(byName(rules, "dockerd")?.pattern, "^dockerd$");
  assert.equal(byName(rules, "kubelet")?.probe, undefined, "probe: false turns the probe off");
  assert.equal(byName(rules, "kubelet")?.pattern, "^kubelet$", "and keeps watching the process");
  assert.equal(byName(rules, "containerd")?.required, true);
  assert.equal(byName(rules, "containerd")?.probe?.kind, "grpc");
  assert.deepEqual(byName(rules, "flume"), {
    name: "flume",
    pattern: "org\\.apache\\.flume",
    match: "cmdline",
    comm: undefined,
    required: true,
    probe: undefined,
  });
  assert.equal(rules.length, BUILTIN_KEY_PROCESSES.length + 1);
});

test("builtinKeyProcesses: false leaves only the configured rules", () => {
  assert.deepEqual(
    resolve({ builtinKeyProcesses: false, keyProcesses: [{ name: "x", pattern: "^x$" }] }).map((r) => r.name),
    ["x"],
  );
  assert.throws(
    () => resolve({ builtinKeyProcesses: false, keyProcesses: [{ name: "dockerd" }] }),
    /^UsageError: config exporter\.keyProcesses\.0\.pattern: required \(no built-in key process is named "dockerd"\)$/,
  );
});

test("a probe of another kind starts afresh; incomplete probes name the missing key", () => {
  const rules = resolve({
    keyProcesses: [{ name: "dockerd", probe: { kind: "grpc", socket: "/run/x.sock" } }],
  });
  assert.deepEqual(byName(rules, "dockerd")?.probe, {
    kind: "grpc",
    socket: "/run/x.sock",
    service: "",
    timeoutSeconds: 5,
    intervalSeconds: 10,
  });
  for (const [probe, message] of [
    [{ kind: "grpc" }, /keyProcesses\.0\.probe\.socket: required for a grpc probe/],
    [{ kind: "http" }, /keyProcesses\.0\.probe\.url: required for an http probe/],
    [{ url: "http://x/" }, /keyProcesses\.0\.probe\.kind: required \(http or grpc\)/],
    [{ kind: "http", url: "https://x/" }, /keyProcesses\.0\.probe\.url: must be http:\/\//],
    [{ kind: "http", url: "x y" }, /keyProcesses\.0\.probe\.url: not a URL/],
  ] as const) {
    assert.throws(() => resolve({ keyProcesses: [{ name: "x", pattern: "x", probe }] }), message);
  }
  assert.throws(
    () =>
      resolve({
        keyProcesses: [
          { name: "x", pattern: "x" },
          { name: "x", pattern: "y" },
        ],
      }),
    /config exporter\.keyProcesses: duplicate name "x"/,
  );
});
