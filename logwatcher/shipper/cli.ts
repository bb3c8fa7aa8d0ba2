import type { Command } from "commander";

/** Placeholder until its issue lands the command. */
export function registerShipCommand(_program: Command): void {}
