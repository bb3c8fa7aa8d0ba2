import type { Command } from "commander";

/** Placeholder until the views issue lands `shim render`. */
export function registerShimRenderCommand(_shim: Command): void {}
