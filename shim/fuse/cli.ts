import type { Command } from "commander";

/** Placeholder until the FUSE issue lands `shim mount`. */
export function registerShimMountCommand(_shim: Command): void {}
