/** The cgroup layer's public surface (modules can also be imported one by one). */
export * from "./container-id.js";
export * from "./cpu.js";
export * from "./cpulist.js";
export * from "./fsread.js";
export * from "./handle.js";
export * from "./host.js";
export * from "./init.js";
export * from "./io.js";
export * from "./list.js";
export * from "./memory.js";
export * from "./mounts.js";
export * from "./pids.js";
export * from "./pressure.js";
export * from "./proc-cgroup.js";
export * from "./process.js";
export * from "./snapshot.js";
export * from "./tasks.js";
export type * from "./types.js";
