import type { Command } from "commander";

/** Placeholder until the exporter issue lands its commands. */
export function registerExporterCommands(_program: Command): void {}
