import { resolve } from "node:path";
import { isDynamicPattern } from "tinyglobby";
import { isInside } from "../../common/files/safe-open.js";

/**
 * The directory a log rule's files must stay inside: the log root when the glob's static prefix
 * (its directories before the first one with a wildcard) lies in it, else that prefix. The file
 * name part never counts, so a literal glob (`/var/log/syslog`) has its directory as root.
 */
export function ruleRoot(pattern: string, logRoot: string): string {
  const dirs = pattern.split("/").slice(0, -1);
  const fixed: string[] = [];
  for (const part of dirs) {
    if (isDynamicPattern(part)) break;
    fixed.push(part);
  }
  const prefix = resolve(fixed.join("/") || "/");
  const root = resolve(logRoot);
  return isInside(prefix, root) ? root : prefix;
}
