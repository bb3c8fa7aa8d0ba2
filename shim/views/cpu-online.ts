/**
 * /sys/devices/system/cpu/online (and possible, present, which a container sees the same) for a
 * container: its visible CPUs renumbered from 0, in the kernel's cpulist format (`0-3`, or `0` for
 * one CPU).
 */
export function renderCpuOnline(visibleCount: number): string {
  const n = Math.max(1, visibleCount);
  return n === 1 ? "0\n" : `0-${n - 1}\n`;
}
