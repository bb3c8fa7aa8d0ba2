/**
 * The kernel's load-average fixed point (include/linux/sched/loadavg.h): 11 fractional bits, and
 * the decay factors for 5 s samples over 1, 5 and 15 minutes (FIXED_1 / exp(5s/1min) etc.).
 */
export const FSHIFT = 11;
export const FIXED_1 = 1 << FSHIFT; // 2048
export const EXP_1 = 1884;
export const EXP_5 = 2014;
export const EXP_15 = 2037;
export const LOAD_FREQ_MS = 5000;

export type Loads = readonly [number, number, number];
export const ZERO_LOADS: Loads = [0, 0, 0];

/**
 * One decay step as the kernel's calc_load: load·e + active·(FIXED_1 − e), rounded up when the load
 * is rising (so it can reach the active count) and down otherwise, then divided by FIXED_1.
 * `active` is already fixed point (nr_active · FIXED_1). Numbers stay far below 2^53.
 */
export function calcLoad(load: number, exp: number, active: number): number {
  let newload = load * exp + active * (FIXED_1 - exp);
  if (active >= load) newload += FIXED_1 - 1;
  return Math.floor(newload / FIXED_1);
}

/**
 * The pure per-container step: the three loads after one or more 5 s periods with `activeThreads`
 * (R + D) threads. Missed periods (a late pass) are caught up one step at a time, as the kernel's
 * calc_global_load catches up with calc_load_n; capped so a long stall cannot spin.
 */
export function stepLoads(prev: Loads, activeThreads: number, periods = 1): Loads {
  const active = Math.max(0, Math.floor(activeThreads)) * FIXED_1;
  let [a1, a5, a15] = prev;
  const steps = Math.min(Math.max(1, Math.floor(periods)), 360);
  for (let i = 0; i < steps; i++) {
    a1 = calcLoad(a1, EXP_1, active);
    a5 = calcLoad(a5, EXP_5, active);
    a15 = calcLoad(a15, EXP_15, active);
  }
  return [a1, a5, a15];
}

/**
 * A load as /proc/loadavg prints it (the kernel's LOAD_INT.LOAD_FRAC of load + FIXED_1/200: rounded
 * to the nearest hundredth). The shim's loadavg view and the exporter's load metrics both use it,
 * so a container's metric and its /proc/loadavg show the same number.
 */
export function formatLoad(load: number): string {
  const x = Math.floor(load) + Math.floor(FIXED_1 / 200);
  const int = Math.floor(x / FIXED_1);
  const frac = Math.floor(((x & (FIXED_1 - 1)) * 100) / FIXED_1);
  return `${int}.${String(frac).padStart(2, "0")}`;
}
