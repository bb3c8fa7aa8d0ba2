import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, type TestContext, test } from "node:test";
import { promisify } from "node:util";
import { parse as parseYaml } from "yaml";
import { upConfigSchema } from "../../cli/up-run.js";
import { type ConfigSources, loadConfig } from "../../common/config.js";
import { type ExporterConfig, loadExporterConfig } from "../../exporter/config.js";
import { type KeyProcessRule, resolveKeyProcesses } from "../../exporter/key-process-rules.js";
import { indexConfigSchema } from "../../pipeline/indexer/config.js";
import { shipConfigSchema } from "../../pipeline/shipper/config.js";
import { logwatcherConfigSchema } from "../../pipeline/spool/config.js";
import { shimConfigSchema } from "../../shim/config.js";
import {
  CHART_DIR,
  chartConfigYaml,
  containerOf,
  daemonSetPodSpec,
  HELM,
  hasHelm,
  objectsOfKind,
  onlyObject,
  type PodSpec,
  podSpecOf,
  podTemplateMetadata,
  renderChart,
} from "../helpers/helm.js";
import { repoRoot } from "../helpers/paths.js";
import { requirePrereq } from "../helpers/prereq.js";

const runFile = promisify(execFile);

/** scripts/chart-rules.mjs: what `npm run chart:rules` copies, and from where to where. */
type ChartRulesScript = {
  readRuleFiles: (root: string, dir: string) => Map<string, string>;
  ALERTS_DIR: string;
  CHART_RULES_DIR: string;
};
const chartRulesScript = (await import(join(repoRoot, "scripts/chart-rules.mjs"))) as ChartRulesScript;
const needHelm = (t: TestContext): boolean =>
  requirePrereq(
    t,
    hasHelm(),
    "helm missing (.ci/setup.d/85-helm.sh builds Helm v4 from the Go module proxy)",
  );

const packageVersion = (
  JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string }
).version;

/** What index.enabled needs besides itself: a pod's 127.0.0.1 defaults would reach nothing. */
const INDEX_ON = {
  "index.enabled": "true",
  "config.index.brokers[0]": "kafka-0.kafka:9092",
  "config.index.elasticsearch": "http://elasticsearch:9200",
};

const tmp = mkdtempSync(join(tmpdir(), "boxscope-helm-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Every section of the rendered boxscope.yaml through boxscope's own loaders (unknown keys, types, regexes). */
function loadEverySection(configYaml: string, name: string): Record<string, unknown> {
  const configPath = join(tmp, `${name}.yaml`);
  writeFileSync(configPath, configYaml);
  // No BOXSCOPE_* from the test's environment: only the file counts.
  const sources: ConfigSources = { configPath, env: {} };
  return {
    up: loadConfig("up", upConfigSchema, sources),
    shim: loadConfig("shim", shimConfigSchema, sources),
    exporter: loadExporterConfig(sources, { requireKmsg: false }),
    logwatcher: loadConfig("logwatcher", logwatcherConfigSchema, sources),
    ship: loadConfig("ship", shipConfigSchema, sources),
    index: loadConfig("index", indexConfigSchema, sources),
  };
}

/** The mount a container path lies in (the longest mountPath that is it or a parent of it). */
function mountHolding(spec: PodSpec, path: string) {
  const mounts = containerOf(spec, "boxscope").volumeMounts ?? [];
  return mounts
    .filter((m) => path === m.mountPath || path.startsWith(`${m.mountPath.replace(/\/$/, "")}/`))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
}

/** The probe socket of every resolved key process that has one, by process name. */
function probeSockets(exporter: ExporterConfig): Record<string, string | undefined> {
  const rules: KeyProcessRule[] = resolveKeyProcesses(exporter);
  return Object.fromEntries(
    rules.filter((r) => r.probe?.socket !== undefined).map((r) => [r.name, r.probe?.socket]),
  );
}

/** The exporter section of the rendered boxscope.yaml, through boxscope's own loader. */
async function renderedExporter(values: Record<string, string>): Promise<ExporterConfig> {
  const objects = await renderChart(values);
  return (loadEverySection(chartConfigYaml(objects), "exporter") as { exporter: ExporterConfig }).exporter;
}

function hostPathOf(spec: PodSpec, volumeName: string): { path: string; type?: string } | undefined {
  return spec.volumes?.find((v) => v.name === volumeName)?.hostPath;
}

test("helm lint --strict passes", async (t) => {
  if (!needHelm(t)) return;
  const { stdout } = await runFile(HELM, ["lint", "--strict", CHART_DIR], { encoding: "utf8" });
  assert.match(stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  assert.doesNotMatch(stdout, /\[(WARNING|ERROR)\]/);
});

test("defaults: a privileged hostPID/hostNetwork DaemonSet running `up` with the views mount propagating to the host", async (t) => {
  if (!needHelm(t)) return;
  const objects = await renderChart();
  const ds = onlyObject(objects, "DaemonSet");
  const spec = daemonSetPodSpec(objects);
  assert.equal(spec.hostPID, true);
  assert.equal(spec.hostNetwork, true);
  assert.equal(spec.dnsPolicy, "ClusterFirstWithHostNet");
  // Kubernetes' service variables (BOXSCOPE_SERVICE_HOST for a service named boxscope) would be
  // rejected by the config loader as unknown BOXSCOPE_* settings.
  assert.equal(spec.enableServiceLinks, false);
  assert.equal(spec.priorityClassName, "system-node-critical");
  assert.ok((spec.terminationGracePeriodSeconds ?? 30) >= 30, `${spec.terminationGracePeriodSeconds}`);
  assert.deepEqual(spec.tolerations, [{ operator: "Exists" }]);
  assert.deepEqual(ds.spec?.updateStrategy, { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } });

  const c = containerOf(spec, "boxscope");
  assert.equal(c.image, `localhost/boxscope:${packageVersion}`);
  assert.equal(c.imagePullPolicy, "IfNotPresent");
  assert.deepEqual(c.args, ["up", "--config", "/etc/boxscope/config.yaml"]);
  assert.equal(c.securityContext?.privileged, true);
  assert.deepEqual(c.ports, [{ name: "metrics", containerPort: 9464, protocol: "TCP" }]);
  for (const probe of [c.livenessProbe, c.readinessProbe]) {
    assert.deepEqual(probe?.httpGet, { path: "/healthz", port: "metrics" });
  }
  for (const kind of ["requests", "limits"] as const) {
    assert.ok(c.resources?.[kind]?.cpu !== undefined, `resources.${kind}.cpu`);
    assert.ok(c.resources?.[kind]?.memory !== undefined, `resources.${kind}.memory`);
  }

  const views = mountHolding(spec, "/var/lib/boxscope");
  assert.equal(views?.mountPath, "/var/lib/boxscope");
  assert.equal(views?.mountPropagation, "Bidirectional");
  assert.deepEqual(hostPathOf(spec, views?.name ?? ""), {
    path: "/var/lib/boxscope",
    type: "DirectoryOrCreate",
  });
  // Each host path at its own path in the container, with the hostPath type that fails early.
  const expected: [string, string, boolean][] = [
    ["/dev/fuse", "CharDevice", false],
    ["/sys/fs/cgroup", "Directory", true],
    ["/app/log", "DirectoryOrCreate", true],
    ["/run/boxscope", "DirectoryOrCreate", false],
    ["/var/lib/boxscope-ship", "DirectoryOrCreate", false],
    ["/dev/kmsg", "CharDevice", false],
  ];
  for (const [path, type, readOnly] of expected) {
    const m = mountHolding(spec, path);
    assert.equal(m?.mountPath, path, `no mount at ${path}`);
    assert.deepEqual(hostPathOf(spec, m?.name ?? ""), { path, type }, path);
    assert.equal(m?.readOnly ?? false, readOnly, `${path} readOnly`);
  }
  assert.equal(mountHolding(spec, "/etc/boxscope/config.yaml")?.mountPath, "/etc/boxscope");
  // The runtimes' socket directory: the host's /run (where /var/run points), read-only, following
  // the host's later mounts; type Directory, so that the kubelet creates nothing on the node.
  const sockets = mountHolding(spec, "/host/run/docker.sock");
  assert.deepEqual(sockets, {
    name: "runtime-sockets",
    mountPath: "/host/run",
    readOnly: true,
    mountPropagation: "HostToContainer",
  });
  assert.deepEqual(hostPathOf(spec, "runtime-sockets"), { path: "/run", type: "Directory" });

  // The Service selects exactly the DaemonSet's pods, on the metrics port.
  const services = objectsOfKind(objects, "Service");
  assert.equal(services.length, 1);
  const podLabels = podTemplateMetadata(ds).labels;
  const selector = services[0]?.spec?.selector as Record<string, string>;
  for (const [k, v] of Object.entries(selector)) assert.equal(podLabels[k], v, `selector ${k}`);
  assert.deepEqual(services[0]?.spec?.ports, [
    { name: "metrics", port: 9464, targetPort: "metrics", protocol: "TCP" },
  ]);

  for (const kind of ["Deployment", "ServiceMonitor", "PrometheusRule"]) {
    assert.deepEqual(objectsOfKind(objects, kind), [], `${kind} rendered by default`);
  }
});

test("the ConfigMap's boxscope.yaml passes boxscope's own config loaders, and every path it names is mounted", async (t) => {
  if (!needHelm(t)) return;
  for (const [name, values] of [
    ["defaults", {}],
    ["shipping", { "config.ship.brokers[0]": "kafka-0.kafka:9092", ...INDEX_ON }],
  ] as const) {
    const objects = await renderChart(values);
    const text = chartConfigYaml(objects);
    const cfg = loadEverySection(text, name) as {
      shim: { mountpoint: string };
      exporter: { listen: string; logRoot: string; kmsgPath: string };
      logwatcher: { logRoot: string; spool: string; podLogRoot: string };
      ship: { spool: string; logRoot: string; positions: string; brokers: string[] };
    };
    assert.equal(cfg.exporter.listen, "0.0.0.0:9464", name);
    const spec = daemonSetPodSpec(objects);
    const paths: [string, string, boolean][] = [
      ["shim.mountpoint", cfg.shim.mountpoint, false],
      ["exporter.logRoot", cfg.exporter.logRoot, true],
      ["exporter.kmsgPath", cfg.exporter.kmsgPath, false],
      ["logwatcher.logRoot", cfg.logwatcher.logRoot, true],
      ["logwatcher.podLogRoot", cfg.logwatcher.podLogRoot, true],
      ["logwatcher.spool", cfg.logwatcher.spool, false],
    ];
    const ship = (parseYaml(text) as { ship?: unknown }).ship;
    if (name === "shipping") {
      assert.ok(ship, "ship section missing");
      assert.deepEqual(cfg.ship.brokers, ["kafka-0.kafka:9092"]);
      paths.push(
        ["ship.logRoot", cfg.ship.logRoot, true],
        ["ship.spool", cfg.ship.spool, false],
        ["ship.positions", cfg.ship.positions, false],
      );
    } else {
      // No ship section at all: `up` ships only when ship.brokers is configured.
      assert.equal(ship, undefined);
    }
    for (const [key, path, readOnlyOk] of paths) {
      const m = mountHolding(spec, path);
      assert.ok(m && m.mountPath !== "/", `${name}: ${key} ${path} is on no mount of the DaemonSet`);
      if (!readOnlyOk) assert.notEqual(m.readOnly, true, `${name}: ${key} ${path} is on a read-only mount`);
    }
    // The probes' sockets, as boxscope resolves them over its built-in rules, are on the mount of
    // the host's /run.
    const probes = probeSockets(cfg.exporter as unknown as ExporterConfig);
    assert.deepEqual(probes, {
      dockerd: "/host/run/docker.sock",
      containerd: "/host/run/containerd/containerd.sock",
      crio: "/host/run/crio/crio.sock",
    });
    for (const socket of Object.values(probes)) {
      const m = mountHolding(spec, socket ?? "");
      assert.equal(m?.name, "runtime-sockets", `${name}: ${socket}`);
      assert.equal(hostPathOf(spec, m?.name ?? "")?.path, "/run");
    }
  }
});

test("hostPaths relocate both the mounts and the config's paths; a config path that disagrees fails the render", async (t) => {
  if (!needHelm(t)) return;
  const objects = await renderChart({
    "hostPaths.views": "/srv/t/views",
    "hostPaths.logRoot": "/srv/t/log",
    "hostPaths.run": "/srv/t/run",
    "hostPaths.positions": "/srv/t/positions",
    "config.ship.brokers[0]": "k:9092",
  });
  const cfg = parseYaml(chartConfigYaml(objects)) as Record<string, Record<string, unknown>>;
  assert.equal(cfg.shim?.mountpoint, "/srv/t/views");
  assert.equal(cfg.logwatcher?.logRoot, "/srv/t/log");
  assert.equal(cfg.logwatcher?.spool, "/srv/t/run/spool");
  assert.equal(cfg.ship?.spool, "/srv/t/run/spool");
  assert.equal(cfg.ship?.positions, "/srv/t/positions/positions.json");
  const spec = daemonSetPodSpec(objects);
  const views = mountHolding(spec, "/srv/t/views");
  assert.equal(views?.mountPropagation, "Bidirectional");
  assert.equal(hostPathOf(spec, views?.name ?? "")?.path, "/srv/t/views");
  assert.equal(
    hostPathOf(spec, mountHolding(spec, "/srv/t/positions/positions.json")?.name ?? "")?.path,
    "/srv/t/positions",
  );

  await assert.rejects(
    renderChart({ "config.logwatcher.spool": "/tmp/spool" }),
    /config\.logwatcher\.spool is "\/tmp\/spool" but hostPaths makes it "\/run\/boxscope\/spool"/,
  );
  await assert.rejects(renderChart({ "config.exporter.listen": "127.0.0.1:9464" }), /is loopback/);
  await assert.rejects(renderChart({ "securityContext.privileged": "false" }), /Bidirectional/);
  // values.schema.json: a misspelt value is an error, not a silently ignored key.
  await assert.rejects(
    renderChart({ "hostPaths.view": "/srv/t" }),
    /additional properties 'view' not allowed/,
  );
});

test("runtimeSockets: relocatable per runtime, merged into the user's keyProcesses, off without a mount", async (t) => {
  if (!needHelm(t)) return;
  // A k3s node: containerd's socket under /run/k3s; another host directory.
  const k3s = await renderChart({
    "runtimeSockets.hostRun": "/var/run",
    "runtimeSockets.sockets.containerd": "k3s/containerd/containerd.sock",
    "runtimeSockets.sockets.crio": "",
  });
  assert.deepEqual(hostPathOf(daemonSetPodSpec(k3s), "runtime-sockets"), {
    path: "/var/run",
    type: "Directory",
  });
  const k3sCfg = loadEverySection(chartConfigYaml(k3s), "k3s") as { exporter: ExporterConfig };
  assert.deepEqual(probeSockets(k3sCfg.exporter), {
    dockerd: "/host/run/docker.sock",
    containerd: "/host/run/k3s/containerd/containerd.sock",
    // "" leaves the built-in path.
    crio: "/var/run/crio/crio.sock",
  });

  // The user's own list (Helm replaces lists, so it is the whole config list): an entry named like
  // a runtime keeps its fields and gets the mounted socket, unless it sets its own socket, another
  // probe kind, or `probe: false`; the runtimes it does not name are added.
  const merged = await renderedExporter({
    "config.exporter.keyProcesses[0].name": "dockerd",
    "config.exporter.keyProcesses[0].probe.timeoutSeconds": "9",
    "config.exporter.keyProcesses[1].name": "containerd",
    "config.exporter.keyProcesses[1].probe.kind": "http",
    "config.exporter.keyProcesses[1].probe.url": "http://127.0.0.1:1338/v1/health",
    "config.exporter.keyProcesses[2].name": "myd",
    "config.exporter.keyProcesses[2].pattern": "^myd$",
    "config.exporter.keyProcesses[2].probe.kind": "http",
    "config.exporter.keyProcesses[2].probe.url": "http://myd/health",
    "config.exporter.keyProcesses[2].probe.socket": "/host/run/myd.sock",
  });
  const rules = new Map(resolveKeyProcesses(merged).map((r) => [r.name, r]));
  assert.equal(rules.get("dockerd")?.probe?.socket, "/host/run/docker.sock");
  assert.equal(rules.get("dockerd")?.probe?.timeoutSeconds, 9);
  const containerd = rules.get("containerd")?.probe;
  assert.equal(containerd?.kind, "http");
  assert.equal(containerd?.socket, undefined, "another kind than the built-in's gets no socket");
  assert.equal(rules.get("crio")?.probe?.socket, "/host/run/crio/crio.sock");
  assert.equal(rules.get("myd")?.probe?.socket, "/host/run/myd.sock");
  const own = await renderedExporter({
    "config.exporter.keyProcesses[0].name": "dockerd",
    "config.exporter.keyProcesses[0].probe.socket": "/host/run/docker/docker.sock",
    "config.exporter.keyProcesses[1].name": "crio",
    "config.exporter.keyProcesses[1].probe": "false",
  });
  const ownSockets = probeSockets(own);
  assert.equal(ownSockets.dockerd, "/host/run/docker/docker.sock");
  assert.equal(ownSockets.crio, undefined, "probe: false stays off");
  assert.equal(ownSockets.containerd, "/host/run/containerd/containerd.sock");

  // Without the built-in list the chart adds no rule (one without a pattern would be an error).
  const noBuiltins = await renderedExporter({ "config.exporter.builtinKeyProcesses": "false" });
  assert.deepEqual(noBuiltins.keyProcesses, []);

  // Off: no mount, and the built-in paths unchanged.
  const off = await renderChart({ "runtimeSockets.enabled": "false" });
  const offSpec = daemonSetPodSpec(off);
  assert.equal(hostPathOf(offSpec, "runtime-sockets"), undefined);
  assert.equal(mountHolding(offSpec, "/host/run/docker.sock"), undefined);
  const offCfg = loadEverySection(chartConfigYaml(off), "off") as { exporter: ExporterConfig };
  assert.deepEqual(offCfg.exporter.keyProcesses, []);
  assert.equal(probeSockets(offCfg.exporter).dockerd, "/var/run/docker.sock");

  // A socket path that leaves hostRun, or an absolute one, is refused by the values schema.
  await assert.rejects(
    renderChart({ "runtimeSockets.sockets.crio": "../etc/crio.sock" }),
    /runtimeSockets\/sockets\/crio/,
  );
  await assert.rejects(
    renderChart({ "runtimeSockets.sockets.crio": "/run/crio/crio.sock" }),
    /runtimeSockets\/sockets\/crio/,
  );
});

test("a config change changes the pods' checksum annotation, so they roll", async (t) => {
  if (!needHelm(t)) return;
  const checksum = async (values: Record<string, string>) => {
    const ds = onlyObject(await renderChart(values), "DaemonSet");
    return podTemplateMetadata(ds).annotations?.["checksum/config"];
  };
  const before = await checksum({});
  assert.match(before ?? "", /^[0-9a-f]{64}$/);
  assert.equal(await checksum({}), before);
  assert.notEqual(await checksum({ "config.exporter.kmsg": "false" }), before);
});

test("index: no Deployment by default; enabled, an unprivileged read-only Deployment with /healthz probes and its own Service", async (t) => {
  if (!needHelm(t)) return;
  await assert.rejects(renderChart({ "index.enabled": "true" }), /needs config\.index\.brokers/);
  const objects = await renderChart({ ...INDEX_ON, "index.replicas": "3", "serviceMonitor.enabled": "true" });
  const deployment = onlyObject(objects, "Deployment");
  assert.equal(deployment.spec?.replicas, 3);
  const spec = podSpecOf(deployment);
  const c = containerOf(spec, "index");
  assert.deepEqual(c.args, [
    "index",
    "--config",
    "/etc/boxscope/config.yaml",
    "--metrics-listen",
    "0.0.0.0:9465",
  ]);
  assert.equal(c.image, `localhost/boxscope:${packageVersion}`);
  assert.notEqual(c.securityContext?.privileged, true);
  assert.equal(c.securityContext?.runAsNonRoot, true);
  assert.equal(c.securityContext?.readOnlyRootFilesystem, true);
  assert.equal(spec.hostPID, undefined);
  assert.equal(spec.hostNetwork, undefined);
  assert.equal(spec.enableServiceLinks, false);
  assert.deepEqual(
    spec.volumes?.filter((v) => v.hostPath),
    [],
    "the indexer mounts no host path",
  );
  for (const probe of [c.livenessProbe, c.readinessProbe]) {
    assert.deepEqual(probe?.httpGet, { path: "/healthz", port: "metrics" });
  }
  assert.deepEqual(c.ports, [{ name: "metrics", containerPort: 9465, protocol: "TCP" }]);
  assert.ok(c.resources?.limits?.memory !== undefined);
  // Its selector and the DaemonSet's do not overlap; each has a Service and a ServiceMonitor.
  const dsSelector = onlyObject(objects, "DaemonSet").spec?.selector as {
    matchLabels: Record<string, string>;
  };
  const indexSelector = deployment.spec?.selector as { matchLabels: Record<string, string> };
  assert.notDeepEqual(dsSelector.matchLabels, indexSelector.matchLabels);
  assert.equal(objectsOfKind(objects, "Service").length, 2);
  assert.equal(objectsOfKind(objects, "ServiceMonitor").length, 2);
  // The shared ConfigMap is valid for `index` too.
  const cfg = loadEverySection(chartConfigYaml(objects), "index") as { index: { brokers: string[] } };
  assert.deepEqual(cfg.index.brokers, ["kafka-0.kafka:9092"]);
});

test("ServiceMonitor: off by default; on, it scrapes the metrics port with the Operator's selector labels", async (t) => {
  if (!needHelm(t)) return;
  const objects = await renderChart({
    "serviceMonitor.enabled": "true",
    "serviceMonitor.additionalLabels.release": "prometheus",
  });
  const sm = onlyObject(objects, "ServiceMonitor");
  assert.equal(sm.apiVersion, "monitoring.coreos.com/v1");
  assert.equal(sm.metadata.labels?.release, "prometheus");
  const endpoints = sm.spec?.endpoints as { port: string; path: string }[];
  assert.deepEqual(
    endpoints.map((e) => [e.port, e.path]),
    [["metrics", "/metrics"]],
  );
  const service = onlyObject(objects, "Service");
  const selector = (sm.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
  for (const [k, v] of Object.entries(selector))
    assert.equal(service.metadata.labels?.[k], v, `selector ${k}`);
  // BoxscopeExporterDown selects up{job=~".*boxscope.*"}; the job is the Service's name.
  assert.match(service.metadata.name, /boxscope/);
});

/** The groups of alerts/*.rules.yml, file by file in name order (as .Files.Glob walks them). */
function repositoryRuleGroups(): unknown[] {
  const { readRuleFiles, ALERTS_DIR } = chartRulesScript;
  return [...readRuleFiles(repoRoot, ALERTS_DIR).values()].flatMap(
    (text) => (parseYaml(text) as { groups: unknown[] }).groups,
  );
}

test("the chart's copy of the alert rules is alerts/*.rules.yml, byte for byte (npm run chart:rules)", () => {
  const { readRuleFiles, ALERTS_DIR, CHART_RULES_DIR } = chartRulesScript;
  const source = readRuleFiles(repoRoot, ALERTS_DIR);
  const copy = readRuleFiles(repoRoot, CHART_RULES_DIR);
  assert.ok(source.size >= 5, `only ${source.size} rule files in alerts/`);
  assert.deepEqual([...copy.keys()], [...source.keys()], "run `npm run chart:rules`");
  for (const [name, text] of source)
    assert.equal(copy.get(name), text, `${name} is stale: run \`npm run chart:rules\``);
});

test("PrometheusRule: off by default; on, its groups are alerts/*.rules.yml's, {{ $labels }} kept for Prometheus", async (t) => {
  if (!needHelm(t)) return;
  const objects = await renderChart({
    "prometheusRule.enabled": "true",
    "prometheusRule.additionalLabels.release": "prometheus",
  });
  const rule = onlyObject(objects, "PrometheusRule");
  assert.equal(rule.apiVersion, "monitoring.coreos.com/v1");
  assert.equal(rule.metadata.labels?.release, "prometheus");
  const groups = rule.spec?.groups as unknown[];
  assert.deepEqual(groups, repositoryRuleGroups());
  assert.match(JSON.stringify(groups), /\{\{ \$labels\.instance \}\}/);
});

test("the chart's versions follow package.json", () => {
  const chart = parseYaml(readFileSync(join(CHART_DIR, "Chart.yaml"), "utf8")) as {
    apiVersion: string;
    name: string;
    appVersion: string;
  };
  assert.equal(chart.apiVersion, "v2");
  assert.equal(chart.name, "boxscope");
  assert.equal(chart.appVersion, packageVersion);
});

test("README.md's table documents every value of values.yaml", () => {
  const readme = readFileSync(join(CHART_DIR, "README.md"), "utf8");
  const values = parseYaml(readFileSync(join(CHART_DIR, "values.yaml"), "utf8")) as Record<string, unknown>;
  // A value is documented when its own row exists, or when every key below it is.
  const undocumented = (path: string, value: unknown): string[] => {
    if (readme.includes(`| \`${path}\``) || readme.includes(`, \`${path}\``)) return [];
    if (
      value === null ||
      typeof value !== "object" ||
      Array.isArray(value) ||
      Object.keys(value).length === 0
    )
      return [path];
    return Object.entries(value).flatMap(([k, v]) => undocumented(`${path}.${k}`, v));
  };
  const missing = Object.entries(values).flatMap(([k, v]) => undocumented(k, v));
  assert.deepEqual(missing, []);
});
