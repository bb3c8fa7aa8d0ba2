import type { Command } from "commander";
import type { GlobalOptions } from "../common/global-options.js";

/** `boxscope up`: everything this host can run, on embedded defaults unless --config says more. */
export function registerUpCommand(program: Command): void {
  program
    .command("up")
    .description(
      "run every part this host supports (shim, exporter, logwatcher, and ship when brokers are configured)",
    )
    .action(async (_opts: unknown, cmd: Command) => {
      // The work and its config schemas load only when `up` runs, not for --help or other commands.
      const { runUp } = await import("./up-run.js");
      process.exitCode = await runUp(cmd.optsWithGlobals<GlobalOptions>());
    });
}
