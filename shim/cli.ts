import type { Command } from "commander";
import { registerShimMountCommand } from "./fuse/cli.js";
import { registerShimRenderCommand } from "./render-cli.js";

/** `boxscope shim ...`: render one view (pure path) or mount them all with FUSE. */
export function registerShimCommands(program: Command): void {
  const shim = program.command("shim").description("container-scoped /proc views (LXCFS-compatible)");
  registerShimRenderCommand(shim);
  registerShimMountCommand(shim);
}
