import type { Command } from "commander";

/** Placeholder until the shim issue lands its commands. */
export function registerShimCommands(_program: Command): void {}
