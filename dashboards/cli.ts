import type { Command } from "commander";

/** `boxscope dashboards build [--out DIR]`: writes the Grafana dashboard JSON files. */
export function registerDashboardsCommands(program: Command): void {
  const dashboards = program.command("dashboards").description("Grafana dashboards generated from code");
  dashboards
    .command("build")
    .description("write every boxscope dashboard as Grafana JSON (host, container, log pipeline)")
    .option("--out <dir>", "directory to write the JSON files into", "dashboards/out")
    .action(async (opts: { out: string }) => {
      const { buildDashboards } = await import("./build.js");
      for (const path of await buildDashboards(opts.out)) process.stdout.write(`${path}\n`);
    });
}
