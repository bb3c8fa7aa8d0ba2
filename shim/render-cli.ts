import type { Command } from "commander";
import { BoxscopeError, UsageError } from "../common/errors.js";
import type { GlobalOptions } from "../common/global-options.js";
import { VIEW_PATHS } from "./view-paths.js";

interface RenderFlags {
  pid?: string;
  cgroup?: string;
  cfsQuota?: boolean;
  cacheAsUsed?: string;
  cacheAsUsedPercent?: string;
}

/** `boxscope shim render VIEW (--pid N | --cgroup PATH)`: one view, exactly as the mount serves it. */
export function registerShimRenderCommand(shim: Command): void {
  shim
    .command("render")
    .description(`print one view as the mount would serve it; VIEW is one of: ${VIEW_PATHS.join(", ")}`)
    .argument("<view>", "e.g. proc/meminfo")
    .option("--pid <n>", "render for this host pid (the cgroup of its pid namespace's init)")
    .option("--cgroup <path>", "render for this cgroup path, e.g. /docker/<id>")
    .option("--no-cfs-quota", "do not limit the CPU count to ceil(CFS quota) (config shim.cfsQuota)")
    .option("--cache-as-used <mode>", "count page cache as used: none | active_file | percent")
    .option("--cache-as-used-percent <n>", "percentage of Cached for --cache-as-used percent")
    .action(async (view: string, flags: RenderFlags, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const text = await renderCommand(view, flags, globals.config);
      process.stdout.write(text);
    });
}

/**
 * The command's work, separate from commander so tests can call it. Throws UsageError on bad input.
 * The config schema (zod) and the renderers load here, on use, not when every command registers.
 */
export async function renderCommand(view: string, flags: RenderFlags, configPath?: string): Promise<string> {
  if ((flags.pid === undefined) === (flags.cgroup === undefined)) {
    throw new UsageError("BXS_FLAG_INVALID", "shim render: give exactly one of --pid N or --cgroup PATH");
  }
  const [{ loadConfig }, { shimConfigSchema, viewRendererOptionsOf }, { createViewRenderer }] =
    await Promise.all([import("../common/config.js"), import("./config.js"), import("./render.js")]);
  const cfg = loadConfig("shim", shimConfigSchema, {
    configPath,
    flags: {
      // commander sets cfsQuota=true by default for --no-*: only a given flag overrides the config.
      cfsQuota: flags.cfsQuota === false ? false : undefined,
      cacheAsUsed: flags.cacheAsUsed,
      cacheAsUsedPercent:
        flags.cacheAsUsedPercent === undefined ? undefined : Number(flags.cacheAsUsedPercent),
    },
  });
  const renderer = createViewRenderer(viewRendererOptionsOf(cfg));
  const { pid } = flags;
  if (pid !== undefined && (!/^\d+$/.test(pid) || Number(pid) <= 0)) {
    throw new UsageError("BXS_FLAG_INVALID", `shim render: --pid expects a positive integer, got "${pid}"`);
  }
  try {
    return pid !== undefined
      ? renderer.renderForPid(view, Number(pid))
      : renderer.renderForCgroup(view, flags.cgroup as string);
  } catch (e) {
    if (!(e instanceof BoxscopeError)) throw e;
    throw new UsageError(e.code, `shim render: ${e.message}`, { context: e.context });
  }
}
