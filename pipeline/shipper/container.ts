import { isAbsolute, relative, sep } from "node:path";
import { SEPARATOR } from "../spool/naming.js";

/**
 * The container a log file belongs to. The log root's layout is `<logRoot>/<containerDir>/**`, so
 * the first path component below the root names the container. When the target lies outside the
 * root, the spool link name (`<containerDir>__<rest>`, the logwatcher's naming) is used instead.
 * Returns "" when neither says.
 */
export function containerFor(logRoot: string, targetPath: string, linkName: string): string {
  const rel = relative(logRoot, targetPath);
  if (rel !== "" && !rel.startsWith("..") && !isAbsolute(rel)) {
    const first = rel.split(sep)[0] ?? "";
    if (first !== "" && rel.includes(sep)) return first;
  }
  const cut = linkName.indexOf(SEPARATOR);
  return cut > 0 ? linkName.slice(0, cut) : "";
}
