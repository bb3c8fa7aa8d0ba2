/**
 * Metadata that the runtimes put in their log files' paths.
 *
 * CRI (kubelet, containerd, CRI-O): `/var/log/pods/<namespace>_<pod>_<uid>/<container>/<restart>.log`,
 * where `<restart>` is the container's restart count (a new file per restart). kubelet rotates the
 * live file by renaming it `<restart>.log.<YYYYMMDD-hhmmss>` (its local time of the rotation) and,
 * on a later rotation, gzips it into `<restart>.log.<YYYYMMDD-hhmmss>.gz` through a temporary
 * `….tmp` that it removes afterwards (the `.tmp` is a gzip being written, not a log: no match).
 * Splitting `<namespace>_<pod>_<uid>` at "_" is unambiguous because Kubernetes names cannot hold
 * one: a namespace is a DNS label (`[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63), a pod name a DNS
 * subdomain (such labels joined by ".", at most 253), a container name a DNS label; the uid is a
 * UUID, or for a static pod a hex hash. Names are checked against these rules, so a path that only
 * looks similar does not match.
 *
 * Docker's json-file: `/var/lib/docker/containers/<id>/<id>-json.log`, `<id>` 64 lowercase hex
 * digits; `--log-opt max-size` rotates it to `-json.log.1`, `.2`, … (`.1.gz`… with `compress`).
 *
 * Only the path's last components are read, not its root: kubelet's pod log directory and Docker's
 * data root are configurable, and boxscope may see the files through links of its own.
 */

export interface CriLogPath {
  namespace: string;
  pod: string;
  podUid: string;
  container: string;
  /** The container's restart count: which run of the container wrote the file. */
  restart: number;
  /** `live`: the file the runtime writes; `rotated`: renamed by kubelet; `compressed`: rotated and gzipped. */
  file: "live" | "rotated" | "compressed";
  /** The rotation's time as kubelet wrote it in the name (`YYYYMMDD-hhmmss`), for rotated files. */
  rotatedAt?: string;
}

export interface DockerLogPath {
  containerId: string;
  /** `live`: `-json.log`; `rotated`: `-json.log.N`; `compressed`: `-json.log.N.gz`. */
  file: "live" | "rotated" | "compressed";
  /** N of a rotated file: 1 is the newest. */
  rotation?: number;
}

const DNS_LABEL = "[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?";
const DNS_LABEL_RE = new RegExp(`^${DNS_LABEL}$`);
const DNS_SUBDOMAIN_RE = new RegExp(`^${DNS_LABEL}(?:\\.${DNS_LABEL})*$`);
const POD_UID_RE = /^[0-9a-f]+(?:-[0-9a-f]+)*$/i;
const CRI_FILE_RE = /^(0|[1-9][0-9]{0,9})\.log(?:\.([0-9]{8}-[0-9]{6})(\.gz)?)?$/;
const DOCKER_ID_RE = /^[0-9a-f]{64}$/;
const DOCKER_FILE_RE = /^([0-9a-f]{64})-json\.log(?:\.([1-9][0-9]{0,9})(\.gz)?)?$/;

/** The last `count` components of a "/"-separated path (empty components, from "//", are skipped). */
function lastComponents(path: string, count: number): string[] | undefined {
  const parts = path.split("/").filter((p) => p !== "");
  return parts.length >= count ? parts.slice(parts.length - count) : undefined;
}

/** Metadata of a CRI pod log path, or undefined when `path` is not one. */
export function parseCriLogPath(path: string): CriLogPath | undefined {
  const parts = lastComponents(path, 3);
  if (parts === undefined) return undefined;
  const [podDir = "", container = "", fileName = ""] = parts;
  const ids = podDir.split("_");
  if (ids.length !== 3) return undefined;
  const [namespace = "", pod = "", podUid = ""] = ids;
  if (!DNS_LABEL_RE.test(namespace) || pod.length > 253 || !DNS_SUBDOMAIN_RE.test(pod)) return undefined;
  if (podUid.length > 64 || !POD_UID_RE.test(podUid) || !DNS_LABEL_RE.test(container)) return undefined;
  const file = CRI_FILE_RE.exec(fileName);
  if (!file) return undefined;
  const [, restart = "", rotatedAt, gz] = file;
  const base = { namespace, pod, podUid, container, restart: Number(restart) };
  if (rotatedAt === undefined) return { ...base, file: "live" };
  return { ...base, file: gz ? "compressed" : "rotated", rotatedAt };
}

/** The container id of a Docker json-file log path, or undefined when `path` is not one. */
export function parseDockerLogPath(path: string): DockerLogPath | undefined {
  const parts = lastComponents(path, 2);
  if (parts === undefined) return undefined;
  const [dir = "", fileName = ""] = parts;
  if (!DOCKER_ID_RE.test(dir)) return undefined;
  const file = DOCKER_FILE_RE.exec(fileName);
  // The file is named after its directory's container; another id there is not dockerd's doing.
  if (!file || file[1] !== dir) return undefined;
  const [, , rotation, gz] = file;
  if (rotation === undefined) return { containerId: dir, file: "live" };
  return { containerId: dir, file: gz ? "compressed" : "rotated", rotation: Number(rotation) };
}
