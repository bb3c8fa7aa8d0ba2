import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";
import { repoRoot } from "./paths.js";
import { hasCommand } from "./prereq.js";

const runFile = promisify(execFile);

/** The chart under test; `helm` is the one on PATH (.ci/setup.d/85-helm.sh builds it). */
export const CHART_DIR = join(repoRoot, "deploy/helm/boxscope");
export const HELM = "helm";
export const hasHelm = (): boolean => hasCommand(HELM);
export const RELEASE = "boxscope";

/** One rendered Kubernetes object, as far as the tests read it. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

export interface HostPathVolume {
  name: string;
  hostPath?: { path: string; type?: string };
  configMap?: { name: string };
}

export interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
  mountPropagation?: "None" | "HostToContainer" | "Bidirectional";
}

export interface HttpProbe {
  httpGet?: { path: string; port: number | string };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
}

export interface Container {
  name: string;
  image: string;
  imagePullPolicy?: string;
  args?: string[];
  env?: { name: string; value?: string }[];
  securityContext?: Record<string, unknown>;
  ports?: { name: string; containerPort: number; protocol?: string }[];
  livenessProbe?: HttpProbe;
  readinessProbe?: HttpProbe;
  resources?: {
    requests?: { cpu?: string | number; memory?: string };
    limits?: { cpu?: string | number; memory?: string };
  };
  volumeMounts?: VolumeMount[];
}

/** The pod spec fields the chart sets (a subset of Kubernetes' PodSpec). */
export interface PodSpec {
  hostPID?: boolean;
  hostNetwork?: boolean;
  dnsPolicy?: string;
  enableServiceLinks?: boolean;
  automountServiceAccountToken?: boolean;
  priorityClassName?: string;
  terminationGracePeriodSeconds?: number;
  tolerations?: Record<string, unknown>[];
  containers: Container[];
  volumes?: HostPathVolume[];
}

/**
 * `helm template boxscope deploy/helm/boxscope --set k=v ...` (values in --set syntax: `a.b=1`,
 * `list[0]=x`; a comma inside v separates values, as on helm's command line), parsed into objects.
 * A failed render rejects with helm's message (the chart's `fail` calls say what was wrong).
 */
export async function renderChart(values: Record<string, string> = {}): Promise<K8sObject[]> {
  const args = ["template", RELEASE, CHART_DIR];
  for (const [k, v] of Object.entries(values)) args.push("--set", `${k}=${v}`);
  let stdout: string;
  try {
    ({ stdout } = await runFile(HELM, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }));
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(`helm ${args.join(" ")}: ${err.stderr?.trim() || err.message}`);
  }
  return parseObjects(stdout);
}

/** Every non-empty YAML document of a rendered manifest; a YAML error fails loudly. */
export function parseObjects(manifest: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(manifest, { uniqueKeys: true })) {
    if (doc.errors.length > 0) throw new Error(`rendered YAML: ${doc.errors[0]?.message}`);
    const value = doc.toJS() as K8sObject | null;
    if (value !== null) objects.push(value);
  }
  return objects;
}

/** The objects of one kind. */
export const objectsOfKind = (objects: K8sObject[], kind: string): K8sObject[] =>
  objects.filter((o) => o.kind === kind);

/** The only object of a kind; throws when there is none or more than one. */
export function onlyObject(objects: K8sObject[], kind: string): K8sObject {
  const found = objectsOfKind(objects, kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, rendered ${found.length}`);
  return found[0] as K8sObject;
}

/** The pod template's spec of a DaemonSet or Deployment. */
export function podSpecOf(workload: K8sObject): PodSpec {
  const template = workload.spec?.template as { spec?: PodSpec } | undefined;
  if (!template?.spec) throw new Error(`${workload.kind} ${workload.metadata.name} has no pod template`);
  return template.spec;
}

/** The pod template's labels and annotations of a DaemonSet or Deployment. */
export function podTemplateMetadata(workload: K8sObject): {
  labels: Record<string, string>;
  annotations?: Record<string, string>;
} {
  const template = workload.spec?.template as
    | { metadata?: ReturnType<typeof podTemplateMetadata> }
    | undefined;
  if (!template?.metadata)
    throw new Error(`${workload.kind} ${workload.metadata.name} has no pod template metadata`);
  return template.metadata;
}

/**
 * The pod spec `boxscope up` runs with on every node (the DaemonSet's): privileges, host
 * namespaces, hostPath volumes and their mounts, env, args. The end-to-end test runs the image with
 * exactly these.
 */
export const daemonSetPodSpec = (objects: K8sObject[]): PodSpec =>
  podSpecOf(onlyObject(objects, "DaemonSet"));

/** The container named `name` of a pod spec. */
export function containerOf(spec: PodSpec, name: string): Container {
  const c = spec.containers.find((x) => x.name === name);
  if (!c) throw new Error(`no container ${name} (have ${spec.containers.map((x) => x.name).join(", ")})`);
  return c;
}

/** The boxscope.yaml the ConfigMap carries (mounted at /etc/boxscope/config.yaml). */
export function chartConfigYaml(objects: K8sObject[]): string {
  const text = onlyObject(objects, "ConfigMap").data?.["config.yaml"];
  if (text === undefined) throw new Error("the ConfigMap has no config.yaml");
  return text;
}
