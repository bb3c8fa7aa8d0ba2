/**
 * Container identity from a cgroup path, for the naming schemes of the common runtimes:
 *   docker cgroupfs     /docker/<id>
 *   docker systemd      /system.slice/docker-<id>.scope
 *   containerd          /<namespace>/<id> (e.g. /default/<id>, /k8s.io/<id>), …/cri-containerd-<id>.scope
 *   cri-o               …/crio-<id>.scope  (crio-conmon-<id>.scope is the monitor, not the container)
 *   podman              …/libpod-<id>.scope, /libpod_parent/libpod-<id> (libpod-conmon-<id> is the monitor)
 *   kubernetes cgroupfs /kubepods[/burstable|/besteffort]/pod<uid>/<id>
 *   kubernetes systemd  /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_with_underscores>.slice/<runtime>-<id>.scope
 *   containerd inside a unit (kind, nested nodes), as /proc/<pid>/cgroup shows it:
 *                       /system.slice/containerd.service/kubepods-burstable-pod<uid_>.slice:cri-containerd:<id>
 * Only full 64-hex ids are recognised (every runtime above generates those), so unrelated
 * hex-named cgroups (session managers, 32-hex ids) are not mistaken for containers. The outermost
 * container in a path wins: a process in a sub-cgroup of a container (systemd inside, docker in
 * docker) belongs to that container as the host sees it.
 */
import type { ContainerIdentity } from "./types.js";

const ID = "([0-9a-f]{64})";
type Runtime = ContainerIdentity["runtime"];

/** Scope/dir names that carry a container id, by runtime (tested in order). */
const COMPONENT_PATTERNS: ReadonlyArray<{ re: RegExp; runtime: Runtime }> = [
  { re: new RegExp(`^docker-${ID}\\.scope$`), runtime: "docker" },
  { re: new RegExp(`^cri-containerd-${ID}\\.scope$`), runtime: "containerd" },
  { re: new RegExp(`^crio-${ID}\\.scope$`), runtime: "cri-o" },
  { re: new RegExp(`^crio-${ID}$`), runtime: "cri-o" },
  { re: new RegExp(`^libpod-${ID}\\.scope$`), runtime: "podman" },
  { re: new RegExp(`^libpod-${ID}$`), runtime: "podman" },
];
const BARE_ID = new RegExp(`^${ID}$`);
const POD_CGROUPFS = /^pod([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
const POD_SYSTEMD =
  /^kubepods(?:-(burstable|besteffort))?-pod([0-9a-f]{8}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{12})\.slice$/;
/** `<pod slice>:<runtime>:<id>`: systemd-style names that containerd puts under its own unit. */
const POD_SLICE_COLON =
  /^kubepods(?:-(burstable|besteffort))?-pod([0-9a-f]{8}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{12})\.slice:(cri-containerd|crio|docker):([0-9a-f]{64})$/;
const COLON_RUNTIME: Record<string, Runtime> = {
  "cri-containerd": "containerd",
  crio: "cri-o",
  docker: "docker",
};
const QOS_CGROUPFS = new Set(["burstable", "besteffort"]);

export function containerIdentityFromPath(path: string): ContainerIdentity | undefined {
  const parts = path.split("/").filter((s) => s !== "");
  let inKubepods = false;
  let podUid: string | undefined;
  let qosClass: ContainerIdentity["qosClass"];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    const colon = POD_SLICE_COLON.exec(part);
    if (colon) {
      return {
        id: colon[4] as string,
        runtime: COLON_RUNTIME[colon[3] as string] ?? "unknown",
        podUid: (colon[2] as string).replaceAll("_", "-"),
        qosClass: (colon[1] as "burstable" | "besteffort" | undefined) ?? "guaranteed",
      };
    }
    if (part === "kubepods" || part === "kubepods.slice") {
      inKubepods = true;
      continue;
    }
    if (inKubepods) {
      const podFs = POD_CGROUPFS.exec(part);
      if (podFs) {
        podUid = podFs[1];
        // cgroupfs: a pod directly under /kubepods is Guaranteed, else the QoS dir names its class.
        const parent = parts[i - 1];
        qosClass =
          parent !== undefined && QOS_CGROUPFS.has(parent)
            ? (parent as "burstable" | "besteffort")
            : "guaranteed";
        continue;
      }
      const podSd = POD_SYSTEMD.exec(part);
      if (podSd) {
        podUid = (podSd[2] as string).replaceAll("_", "-");
        qosClass = (podSd[1] as "burstable" | "besteffort" | undefined) ?? "guaranteed";
        continue;
      }
    }
    for (const { re, runtime } of COMPONENT_PATTERNS) {
      const m = re.exec(part);
      if (m) return withPod({ id: m[1] as string, runtime }, podUid, qosClass);
    }
    const bare = BARE_ID.exec(part);
    if (bare) {
      const parent = i > 0 ? parts[i - 1] : undefined;
      let runtime: Runtime = "unknown";
      if (podUid === undefined) {
        if (parent === "docker" && i === 1) runtime = "docker";
        else if (i === 1) runtime = "containerd"; // /<containerd namespace>/<id>
      }
      return withPod({ id: bare[1] as string, runtime }, podUid, qosClass);
    }
  }
  return undefined;
}

function withPod(
  base: { id: string; runtime: Runtime },
  podUid: string | undefined,
  qosClass: ContainerIdentity["qosClass"],
): ContainerIdentity {
  if (podUid === undefined) return base;
  return { ...base, podUid, ...(qosClass !== undefined ? { qosClass } : {}) };
}
