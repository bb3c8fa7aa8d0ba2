import { isAbsolute, relative, sep } from "node:path";
import type { ContainerLabeler } from "../../common/container-labels.js";
import { parseCriLogPath, parseDockerLogPath } from "../runtime-logs/cri-path.js";
import type { SourceKind } from "../sources.js";
import { containerFor } from "./container.js";

/** Who wrote a file, as every record of it says (and as the shipper's per-container limits count it). */
export interface FileMeta {
  /** The record's `container`: the log directory, the Docker container's name (or id), the pod's container. */
  container: string;
  /** The owning team ("" when unknown). */
  team: string;
  /**
   * The JSON members a record of a tree beside the log root carries after `host` (without braces
   * or a trailing comma): `"source":…` and the tree's metadata. "" for the log root's files.
   */
  fields: string;
  /** Kafka partitioning key: one container's lines stay in one partition, in order. "" = the file id. */
  key: string;
  /** The unit the per-container rate limit counts by. */
  rateKey: string;
  /** The runtime's run of a container whose files one decoder reads in turn; "" for plain files. */
  streamKey: string;
}

const json = JSON.stringify;

/** A member list from the pairs with a value ("" and undefined are left out). */
function members(pairs: [string, string | number | undefined][]): string {
  return pairs
    .filter(([, v]) => v !== undefined && v !== "")
    .map(([k, v]) => `${json(k)}:${json(v)}`)
    .join(",");
}

/**
 * The metadata of a file at `path` in a tree of kind `kind` rooted at `root`: from its path (the
 * runtimes name their files after the container or the pod) and the container labels (Docker's
 * config.v2.json beside the log, the team mapping file). `linkName` is the spool link (the log
 * root's files outside the root are named by it).
 */
export function describeFile(
  kind: SourceKind,
  root: string,
  path: string,
  linkName: string,
  labeler: ContainerLabeler,
): FileMeta {
  switch (kind) {
    case "app": {
      const container = containerFor(root, path, linkName);
      return appFileMeta(container, container ? labeler.labelsForUnlisted(container).team : "");
    }
    case "docker": {
      const parsed = parseDockerLogPath(path);
      if (!parsed) return unknownContainer(kind, root, path);
      const id = parsed.containerId;
      const labels = labeler.labelsFor({ id }, id);
      const container = labels.container_name || id;
      const fields = members([
        ["source", kind],
        ["container", container],
        ["containerId", id],
        ["team", labels.team],
      ]);
      return { container, team: labels.team, fields, key: id, rateKey: id, streamKey: id };
    }
    case "pods": {
      const p = parseCriLogPath(path);
      if (!p) return unknownContainer(kind, root, path);
      const team = labeler.teamOfPodContainer(p.podUid, p.container);
      const fields = members([
        ["source", kind],
        ["container", p.container],
        ["pod", p.pod],
        ["namespace", p.namespace],
        ["podUid", p.podUid],
        ["restart", p.restart],
        ["team", team],
      ]);
      const id = `${p.podUid}/${p.container}`;
      return {
        container: `${p.namespace}/${p.pod}/${p.container}`,
        team,
        fields,
        key: id,
        rateKey: id,
        streamKey: `${id}/${p.restart}`,
      };
    }
    case "host":
      return {
        container: "",
        team: "",
        fields: members([["source", kind]]),
        key: "",
        rateKey: "host",
        streamKey: "host",
      };
  }
}

/** A file of the log root, in the directory of `container`. */
export function appFileMeta(container: string, team = ""): FileMeta {
  return { container, team, fields: "", key: container, rateKey: container, streamKey: "" };
}

/** A file in a runtime's tree that its naming does not describe: known by its first directory. */
function unknownContainer(kind: SourceKind, root: string, path: string): FileMeta {
  const rel = relative(root, path);
  const first = rel.startsWith("..") || isAbsolute(rel) ? "" : (rel.split(sep)[0] ?? "");
  const fields = members([
    ["source", kind],
    ["container", first],
  ]);
  return { container: first, team: "", fields, key: first, rateKey: first, streamKey: path };
}
