import { readFileSync } from "node:fs";

/**
 * The ASan+UBSan addons in the test processes of test/native/sanitize.test.ts. Node is not
 * instrumented, so such a process starts with clang's ASan runtime in LD_PRELOAD: the runtime must be
 * in the process before anything allocates for the sanitized addons (BOXSCOPE_NATIVE_BUILD=sanitize)
 * to load. What the test starts must not inherit it: shells, procps tools, runc and Python are not
 * built for it (an earlier attempt hung them). So the process takes the variable out of its
 * environment first thing (sanitize-preload.ts) and gives it back only to a child that loads the
 * addons itself (a shim daemon, a CLI command).
 */
let asanRuntime: string | undefined;

/** The line a sanitized test process ends with: the addons it had loaded, for sanitize.test.ts. */
export const LOADED_ADDONS_LINE = "boxscope loaded addons:";

/** Run once, before anything else (sanitize-preload.ts): the runtime stays, the variable goes. */
export function takeAsanPreload(): void {
  asanRuntime = process.env.LD_PRELOAD;
  delete process.env.LD_PRELOAD;
  process.on("exit", () => {
    const addons = new Set(
      readFileSync("/proc/self/maps", "utf8")
        .split("\n")
        .map((line) => line.slice(line.indexOf("/")))
        .filter((path) => path.endsWith(".node") && path.includes("/native/")),
    );
    process.stderr.write(`${LOADED_ADDONS_LINE} ${[...addons].join(" ")}\n`);
  });
}

/** The environment for a child process that loads our addons itself: `env`, plus the ASan runtime
 * when it loads the sanitized ones. */
export function addonProcessEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (!asanRuntime || env.BOXSCOPE_NATIVE_BUILD !== "sanitize") return env;
  return { ...env, LD_PRELOAD: asanRuntime };
}
