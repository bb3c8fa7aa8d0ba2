import type { Command } from "commander";

/** Placeholder until its issue lands the command. */
export function registerIndexCommand(_program: Command): void {}
