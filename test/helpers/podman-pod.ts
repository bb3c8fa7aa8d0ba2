import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { HostPathVolume, PodSpec, VolumeMount } from "./helm.js";

/**
 * `podman run` arguments that run one container of a Kubernetes pod spec the way the kubelet would
 * on this host: host namespaces, privileges, hostPath and ConfigMap volumes with their mount
 * propagation, env, resource limits, args. The deploy tests run the built image from the rendered
 * Helm chart through this, so what they prove is what the chart asks of a node, not a hand copy.
 * A field this does not translate is an error, never silently dropped.
 */
export interface PodmanRun {
  /** Everything between `podman run` and the image's arguments, the image included. */
  args: string[];
}

/** Fields the kubelet acts on that have no effect a host-level test can observe, or none on podman. */
const IGNORED_POD_FIELDS = new Set([
  "enableServiceLinks",
  "automountServiceAccountToken",
  "containers",
  "volumes",
  "hostPID",
  "hostNetwork",
  "dnsPolicy",
  "serviceAccountName",
  "priorityClassName",
  "tolerations",
  "terminationGracePeriodSeconds",
  "nodeSelector",
  "affinity",
]);
const IGNORED_CONTAINER_FIELDS = new Set([
  "name",
  "image",
  "imagePullPolicy",
  "args",
  "env",
  "securityContext",
  "volumeMounts",
  "resources",
  "ports",
  "livenessProbe",
  "readinessProbe",
  "startupProbe",
]);

/**
 * Translates container `name` of `pod`. `configMaps` holds the rendered ConfigMaps' data by name;
 * their files are written under `workDir`. `extra` goes before the image (e.g. --name, -d).
 */
export function podmanRunArgs(
  pod: PodSpec,
  name: string,
  configMaps: Map<string, Record<string, string>>,
  workDir: string,
  extra: string[] = [],
): PodmanRun {
  for (const k of Object.keys(pod)) {
    if (!IGNORED_POD_FIELDS.has(k)) throw new Error(`pod spec field ${k} is not translated to podman`);
  }
  const container = pod.containers.find((c) => c.name === name);
  if (!container) throw new Error(`no container ${name} in the pod spec`);
  for (const k of Object.keys(container)) {
    if (!IGNORED_CONTAINER_FIELDS.has(k)) throw new Error(`container field ${k} is not translated to podman`);
  }
  const args = [...extra];
  if (pod.hostPID) args.push("--pid=host");
  if (pod.hostNetwork) args.push("--network=host");
  const sc = (container.securityContext ?? {}) as { privileged?: boolean; capabilities?: { add?: string[] } };
  for (const k of Object.keys(sc)) {
    if (k !== "privileged" && k !== "capabilities") throw new Error(`securityContext.${k} is not translated`);
  }
  if (sc.privileged) args.push("--privileged");
  for (const cap of sc.capabilities?.add ?? []) args.push(`--cap-add=${cap}`);
  const volumes = new Map((pod.volumes ?? []).map((v) => [v.name, v]));
  for (const m of container.volumeMounts ?? []) {
    const v = volumes.get(m.name);
    if (!v) throw new Error(`volumeMount ${m.name} names no volume`);
    args.push("-v", `${volumeSource(v, configMaps, workDir)}:${m.mountPath}:${mountOptions(m).join(",")}`);
  }
  for (const e of container.env ?? []) {
    if (e.value === undefined) throw new Error(`env ${e.name}: only literal values are translated`);
    args.push("-e", `${e.name}=${e.value}`);
  }
  const limits = container.resources?.limits ?? {};
  if (limits.memory !== undefined) args.push(`--memory=${memoryBytes(limits.memory)}b`);
  if (limits.cpu !== undefined) args.push(`--cpus=${cpus(String(limits.cpu))}`);
  args.push(container.image, ...(container.args ?? []));
  return { args };
}

function volumeSource(
  v: HostPathVolume,
  configMaps: Map<string, Record<string, string>>,
  workDir: string,
): string {
  if (v.hostPath) {
    // The kubelet creates a DirectoryOrCreate path; every other type must already exist.
    if (v.hostPath.type === "DirectoryOrCreate") mkdirSync(v.hostPath.path, { recursive: true });
    return v.hostPath.path;
  }
  if (v.configMap) {
    const data = configMaps.get(v.configMap.name);
    if (!data) throw new Error(`volume ${v.name}: no rendered ConfigMap ${v.configMap.name}`);
    const dir = join(workDir, `configmap-${v.configMap.name}`);
    mkdirSync(dir, { recursive: true });
    for (const [file, text] of Object.entries(data)) writeFileSync(join(dir, file), text);
    return dir;
  }
  throw new Error(`volume ${v.name}: only hostPath and configMap volumes are translated`);
}

function mountOptions(m: VolumeMount): string[] {
  const opts = [m.readOnly ? "ro" : "rw"];
  // Kubernetes' propagation modes are the kernel's: Bidirectional = rshared, HostToContainer = rslave.
  if (m.mountPropagation === "Bidirectional") opts.push("rshared");
  else if (m.mountPropagation === "HostToContainer") opts.push("rslave");
  else if (m.mountPropagation !== undefined && m.mountPropagation !== "None")
    throw new Error(`mountPropagation ${m.mountPropagation} is not translated`);
  return opts;
}

const UNITS: Record<string, number> = {
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
};

/** A Kubernetes memory quantity ("512Mi", "1G", "268435456") in bytes. */
export function memoryBytes(q: string): number {
  const m = /^(\d+)(|k|M|G|Ki|Mi|Gi)$/.exec(q);
  if (!m) throw new Error(`memory quantity ${q} is not translated`);
  return Number(m[1]) * (UNITS[m[2] as string] as number);
}

/** A Kubernetes CPU quantity ("1", "500m") in CPUs. */
function cpus(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(q);
  if (!m) throw new Error(`cpu quantity ${q} is not translated`);
  return Number(m[1]) / (m[2] === "m" ? 1000 : 1);
}
