import { posix } from "node:path";
import picomatch from "picomatch";

/** Decides by name alone whether a log-root-relative path is a log file we want. */
export type PathFilter = (rel: string) => boolean;

/**
 * include/exclude globs (picomatch). A pattern without `/` matches the file name at any depth
 * (`*.log`), one with `/` matches the whole relative path (`*\/app/**\/*.log`). Dotfiles match.
 * (picomatch's own `basename` option applies to every pattern of a list, hence the split here.)
 */
export function compileFilter(include: readonly string[], exclude: readonly string[]): PathFilter {
  const inc = compileList(include);
  const exc = compileList(exclude);
  return (rel) => inc(rel) && !exc(rel);
}

function compileList(patterns: readonly string[]): PathFilter {
  const opts = { dot: true } as const;
  const byName = patterns.filter((p) => !p.includes("/"));
  const byPath = patterns.filter((p) => p.includes("/"));
  const nameMatch = byName.length > 0 ? picomatch(byName, opts) : () => false;
  const pathMatch = byPath.length > 0 ? picomatch(byPath, opts) : () => false;
  return (rel) => nameMatch(posix.basename(rel)) || pathMatch(rel);
}
