import { Command, CommanderError } from "commander";
import { BoxscopeError } from "../common/errors.js";
import { catchStopSignals } from "../common/service.js";
import { registerDashboardsCommands } from "../dashboards/cli.js";
import { registerExporterCommands } from "../exporter/cli.js";
import { registerLogPipelineCommands } from "../pipeline/cli.js";
import { registerShimCommands } from "../shim/cli.js";
import { registerUpCommand } from "./up.js";

/** Builds the `boxscope` program; each part registers its own subcommands. */
export function buildProgram(): Command {
  const program = new Command("boxscope")
    .description("container observability for Docker/Kubernetes hosts")
    .option("--config <file>", "boxscope.yaml with one section per command", process.env.BOXSCOPE_CONFIG)
    .option(
      "--log-level <level>",
      "pino log level (env BOXSCOPE_LOG_LEVEL)",
      process.env.BOXSCOPE_LOG_LEVEL ?? "info",
    )
    .showHelpAfterError(false)
    .exitOverride();
  registerUpCommand(program);
  registerShimCommands(program);
  registerExporterCommands(program);
  registerLogPipelineCommands(program);
  registerDashboardsCommands(program);
  return program;
}

/** Runs the CLI; resolves to the process exit code. Bad input → one line on stderr, exit 2. */
export async function main(argv: string[]): Promise<number> {
  // Before any command starts: a SIGTERM during start-up must stop cleanly, not kill mid-mount.
  void catchStopSignals();
  const program = buildProgram();
  program.configureOutput({ writeErr: (s) => process.stderr.write(s) });
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof BoxscopeError) {
      process.stderr.write(`boxscope: ${e.message}\n`);
      return e.exitCode;
    }
    process.stderr.write(
      `boxscope: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
    );
    return 1;
  }
}
