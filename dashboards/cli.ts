import type { Command } from "commander";

/** Placeholder until the dashboards issue lands its commands. */
export function registerDashboardsCommands(_program: Command): void {}
