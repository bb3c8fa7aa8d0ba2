import type { Command } from "commander";

/** Placeholder until its issue lands the command. */
export function registerLogwatcherCommand(_program: Command): void {}
