import type { Command } from "commander";
import { BoxscopeError } from "../common/errors.js";

/**
 * `boxscope up`: everything this host can run (shim when root and /dev/fuse, exporter, logwatcher)
 * on embedded defaults. Each part exposes a start function returning a RunningService; wired here
 * as the parts land.
 */
export function registerUpCommand(program: Command): void {
  program
    .command("up")
    .description("run every part this host supports on embedded defaults (shim, exporter, logwatcher)")
    .action(() => {
      throw new BoxscopeError("up: not wired yet (parts still landing)");
    });
}
