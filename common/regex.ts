import { createRequire } from "node:module";
import type RE2Type from "re2";
import { UsageError } from "./errors.js";

const requireCjs = createRequire(import.meta.url);
/** The addon loads on the first pattern: `ship` without a multi-line pattern never pays for it. */
const re2 = (): typeof RE2Type => requireCjs("re2") as typeof RE2Type;

/**
 * Regular expressions that run on bytes a container wrote (log lines, command lines, kernel
 * messages) use RE2: matching takes time linear in the input whatever the pattern, so one hostile
 * line cannot stall the process that matches it (a backtracking engine, V8's included, takes
 * exponential time on `^(a+)+$` against a 35-byte line). RE2 has no backreferences or lookaround;
 * a pattern that needs them is refused when the config is loaded, naming the setting.
 *
 * Matching a Buffer skips the UTF-16 to UTF-8 conversion a string costs on every call; the bytes are
 * read as UTF-8, so an invalid byte matches no `.` (in a decoded string it is U+FFFD, which does).
 */
export interface LineMatcher {
  test(line: string | Buffer): boolean;
}

/** Compiles `source` for RE2 or throws a UsageError naming `what` (a config key). */
export function compileLinearRegex(source: string, what: string): LineMatcher {
  try {
    return new (re2())(source);
  } catch (e) {
    throw new UsageError(
      "BXS_CONFIG_INVALID",
      `${what}: invalid regex ${JSON.stringify(source)}: ${(e as Error).message} (RE2 syntax: no backreferences or lookaround)`,
    );
  }
}

/**
 * Several rules matched against the same lines in one pass (RE2::Set): the cost of a line does
 * not grow with the number of rules. `matching(line)` lists the indexes of the rules that match.
 */
export class LinearRegexSet {
  private readonly set: InstanceType<typeof RE2Type.Set> | undefined;

  constructor(sources: readonly string[], what: string) {
    try {
      this.set = sources.length > 0 ? new (re2().Set)(sources) : undefined;
    } catch (e) {
      // Name the pattern at fault; the set's own error does not say which one it is.
      for (const [i, s] of sources.entries()) compileLinearRegex(s, `${what}.${i}`);
      throw e;
    }
  }

  matching(line: string | Buffer): number[] {
    return this.set ? this.set.match(line) : [];
  }
}
