import type { Command } from "commander";

/** Placeholder until the logwatcher issue lands its commands. */
export function registerLogwatcherCommands(_program: Command): void {}
